package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * Regression: a waiter whose lease ended while it waited failed with jetcd's raw {@code EtcdException} (NOT_FOUND
 * from the lease refresh made at the grant) instead of a {@link LockException} saying what happened. Its entry went
 * with the lease, so nothing is held and nothing is left in etcd.
 */
@WithEtcd(members = 1)
class WaiterLeaseEndedRawExceptionIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(30);
    /** Renewed every 3 s, so the loss is seen well before the waiter's 9 s wait ends. */
    private static final Duration KEPT_WAITER_LEASE = Duration.ofSeconds(9);

    @Test
    void aWaiterWhoseLeaseIsRevokedWhileWaitingFailsWithALockExceptionWhenTheHolderLetsGo(EtcdCluster etcd,
                                                                                          Client client)
            throws Exception {
        RwLocks holderLocks = locks(client);
        DistributedLock holder = holderLocks.writeLock("revoked-waiter", 1, LEASE);
        DistributedLock waiter = locks(etcd.newClient()).writeLock("revoked-waiter", 2, LEASE);
        holder.lock();
        CompletableFuture<Void> waiting = waiter.lockAsync();
        awaitWaiting(holderLocks, "revoked-waiter", 1);

        revokeWaiterLease(client, "revoked-waiter");
        holder.unlock();

        assertFailsAsLostEntry(waiting, "revoked-waiter");
        assertThat(waiter.isHeld()).isFalse();
        assertThat(rawKeys(client, "revoked-waiter")).isEmpty();
    }

    /**
     * With keep-alive, the waiter learns at its next renewal (a third of the lease time) that its lease is gone,
     * and stops waiting then, while the holder still holds, instead of waiting out its whole wait.
     */
    @Test
    void aKeptAliveWaiterWhoseLeaseIsRevokedStopsWaitingAtItsNextRenewal(EtcdCluster etcd, Client client)
            throws Exception {
        RwLocks holderLocks = locks(client);
        DistributedLock holder = holderLocks.writeLock("revoked-kept", 1, LEASE);
        DistributedLock waiter = locks(etcd.newClient(), b -> b.keepAlive(true))
                .writeLock("revoked-kept", 2, KEPT_WAITER_LEASE);
        holder.lock();
        CompletableFuture<Void> waiting = waiter.lockAsync();
        awaitWaiting(holderLocks, "revoked-kept", 1);

        revokeWaiterLease(client, "revoked-kept");

        assertFailsAsLostEntry(waiting, "revoked-kept"); // while the holder still holds
        assertThat(holder.isHeld()).isTrue();
        assertThat(rawKeys(client, "revoked-kept")).hasSize(1);
        holder.unlock();
    }

    private void revokeWaiterLease(Client client, String escapedKey) throws Exception {
        List<KeyValue> entries = rawEntries(client, escapedKey);
        KeyValue waiterEntry = entries.stream()
                .max((a, b) -> Long.compare(a.getCreateRevision(), b.getCreateRevision()))
                .orElseThrow();
        await(client.getLeaseClient().revoke(waiterEntry.getLease()));
    }

    private static void assertFailsAsLostEntry(CompletableFuture<Void> waiting, String key) {
        assertThatThrownBy(() -> await(waiting))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(LockException.class)
                .hasMessageContaining("'" + key + "'")
                .hasMessageContaining("lease ended")
                .hasMessageContaining("nothing is held");
    }
}
