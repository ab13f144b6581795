package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.etcd.jetcd.Client;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * With its only etcd member down, the lock reports {@link LockUnavailableException} within a bounded time instead
 * of hanging, and works again once the member is back, on the same client.
 */
@WithEtcd(members = 1)
class ConnectionLossIT extends LockItSupport {
    private static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Test
    void lockFailsAsUnavailableWhileEtcdIsDownAndSucceedsAgainAfterItRestarts(EtcdCluster etcd) throws Exception {
        Client client = etcd.newClient();
        RwLocks locks = locks(client, builder -> builder.operationTimeout(OPERATION_TIMEOUT));
        DistributedLock lock = locks.writeLock("outage", 1, LEASE);
        lock.lock();
        lock.unlock();

        etcd.member(0).stop();
        try {
            Duration lockFailedAfter = assertTimeoutPreemptively(TestTimeouts.step(), () -> {
                long started = System.nanoTime();
                assertThatThrownBy(lock::lock).isInstanceOf(LockUnavailableException.class);
                return Duration.ofNanos(System.nanoTime() - started);
            });
            assertThat(lockFailedAfter).as("bounded by the operation timeout, not the %s lease", LEASE)
                    .isLessThan(OPERATION_TIMEOUT.plus(TestTimeouts.scaled(Duration.ofSeconds(3))));
            assertTimeoutPreemptively(TestTimeouts.step(), () -> {
                assertThatThrownBy(() -> lock.tryLock(Duration.ZERO)).isInstanceOf(LockUnavailableException.class);
                assertThatThrownBy(() -> locks.inspect("outage")).isInstanceOf(LockUnavailableException.class);
            });
            assertThat(lock.isHeld()).isFalse();
        } finally {
            etcd.member(0).restart();
        }

        lockOnceEtcdAnswersAgain(lock);
        LockInfo info = locks.inspect("outage");
        assertThat(info.mode()).isEqualTo(LockMode.WRITE);
        assertThat(info.holders()).containsExactly(1L);
        assertThat(info.waiting()).as("no entry of the failed attempts is left").isZero();
        lock.unlock();
    }

    /**
     * The client reconnects on its own, with gRPC's back-off; until then a call may still fail as unavailable.
     * Retried within the step bound; every attempt is itself bounded by the operation timeout.
     */
    private static void lockOnceEtcdAnswersAgain(DistributedLock lock) {
        Await.retrying("a lock after etcd restarted", TestTimeouts.step(), e -> e instanceof LockUnavailableException,
                () -> {
                    lock.lock();
                    return null;
                });
    }
}
