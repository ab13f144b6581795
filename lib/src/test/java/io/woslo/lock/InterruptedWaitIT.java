package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** A caller interrupted while waiting in {@code lock()} gives up its place: it never ends up holding the lock. */
@WithEtcd(members = 1)
class InterruptedWaitIT extends LockItSupport {
    private static final Duration LONG_LEASE = Duration.ofSeconds(60);

    private record Outcome(Throwable error, boolean interruptFlag) {
    }

    @Test
    void anInterruptedLockThrowsKeepsTheInterruptFlagAndNeverHoldsTheLock(EtcdCluster etcd, Client client)
            throws Exception {
        RwLocks observer = locks(client);
        DistributedLock holder = locks(etcd.newClient()).writeLock("interrupted", 1, LONG_LEASE);
        DistributedLock waiter = locks(etcd.newClient()).writeLock("interrupted", 2, LONG_LEASE);
        DistributedLock later = locks(etcd.newClient()).writeLock("interrupted", 3, LONG_LEASE);
        holder.lock();

        CompletableFuture<Outcome> outcome = new CompletableFuture<>();
        Thread waiting = new Thread(() -> {
            try {
                waiter.lock();
                outcome.complete(new Outcome(null, Thread.currentThread().isInterrupted()));
            } catch (RuntimeException e) {
                outcome.complete(new Outcome(e, Thread.currentThread().isInterrupted()));
            }
        }, "interrupted-waiter");
        waiting.start();
        awaitWaiting(observer, "interrupted", 1);
        waiting.interrupt();
        Outcome interrupted = await(outcome);

        assertThat(interrupted.error()).isInstanceOf(LockException.class);
        assertThat(interrupted.interruptFlag()).as("interrupt flag restored").isTrue();

        // The interrupted waiter must not keep the lock once the holder lets go: a later client gets it, long
        // before the waiter's 60 s lease could end.
        CompletableFuture<Void> laterGranted = later.lockAsync();
        awaitWaiting(observer, "interrupted", 2);
        holder.unlock();
        await(laterGranted);

        assertThat(observer.inspect("interrupted").holders()).containsExactly(3L);
        assertThat(waiter.isHeld()).isFalse();
        later.unlock();
        assertThat(rawKeys(client, "interrupted")).isEmpty();
    }
}
