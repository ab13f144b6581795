package io.woslo.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.lock.DistributedLock;
import io.woslo.lock.RwLocks;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.FaultInterceptor;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Deterministic form of what the randomized run found: a waiter whose watch stream breaks (as when its member
 * restarts) must keep waiting while the holder holds; a watch error says nothing about the holder's key.
 */
@WithEtcd(members = 1)
class WatchErrorLockIT {
    private static final Duration LEASE = Duration.ofSeconds(10);

    private final String namespace = "/watch-error-" + UUID.randomUUID();

    @Test
    void aWaiterWhoseWatchBreaksIsNotGrantedWhileTheWriterHolds(EtcdCluster etcd) throws Exception {
        FaultInterceptor faults = new FaultInterceptor();
        try (RwLocks holderSide = RwLocks.builder(etcd.newClient()).namespace(namespace).build();
             RwLocks waiterSide = RwLocks.builder(etcd.newClient(faults)).namespace(namespace).build()) {
            DistributedLock holder = holderSide.writeLock("k", 1, LEASE);
            holder.lock();
            DistributedLock waiter = waiterSide.writeLock("k", 2, LEASE);
            CompletableFuture<Void> waiting = waiter.lockAsync();
            Await.until("the waiter is queued", () -> holderSide.inspect("k").waiting() == 1);

            FaultInterceptor.Fault broken = faults.breakWatch(1);
            assertThat(broken.awaitInjected(1, TestTimeouts.step())).as("the waiter's watch stream broke").isTrue();

            // Nothing may happen now; a wrong grant follows the error within milliseconds, so a second is ample.
            assertThat(catchTimeout(waiting, Duration.ofSeconds(1)))
                    .as("the waiter was granted while the writer still holds: %s", holderSide.inspect("k"))
                    .isTrue();
            assertThat(holderSide.inspect("k").holders()).containsExactly(1L);

            holder.unlock();
            waiting.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
            assertThat(waiter.fencingToken()).isGreaterThan(0);
            waiter.unlock();
        }
    }

    private static boolean catchTimeout(CompletableFuture<?> future, Duration wait) throws Exception {
        try {
            future.get(wait.toMillis(), TimeUnit.MILLISECONDS);
            return false;
        } catch (TimeoutException stillWaiting) {
            return true;
        }
    }
}
