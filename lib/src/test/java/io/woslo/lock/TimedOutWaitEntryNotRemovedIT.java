package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.EtcdMember;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * Regression: a wait that timed out reported {@code false} ("your entry is gone") even when the revoke that should
 * have removed its entry failed, so the entry could still be in etcd. Not removed must not be reported as removed:
 * the caller gets {@link LockUnavailableException} (its entry ends with its lease at the latest).
 */
@WithEtcd(members = 1)
class TimedOutWaitEntryNotRemovedIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(60);
    private static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(1);
    private static final Duration WAIT = Duration.ofSeconds(3);

    @Test
    void aTryLockTimingOutWhileEtcdIsDownFailsAsUnavailableInsteadOfClaimingItsEntryIsGone(EtcdCluster etcd,
                                                                                          Client client)
            throws Exception {
        RwLocks holderLocks = locks(client);
        DistributedLock holder = holderLocks.writeLock("outage-timeout", 1, LEASE);
        DistributedLock waiter = locks(etcd.newClient(), b -> b.operationTimeout(OPERATION_TIMEOUT))
                .writeLock("outage-timeout", 2, LEASE);
        holder.lock();
        CompletableFuture<Boolean> waiting = waiter.tryLockAsync(WAIT);
        awaitWaiting(holderLocks, "outage-timeout", 1);

        EtcdMember member = etcd.member(0);
        member.stop();
        try {
            assertThatThrownBy(() -> await(waiting))
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(LockUnavailableException.class)
                    .hasMessageContaining("could not be removed");
            assertThat(waiter.isHeld()).isFalse();
        } finally {
            member.restart();
        }
    }
}
