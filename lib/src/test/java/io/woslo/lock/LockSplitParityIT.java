package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * Review of the lock engine split (6f92dcd → bec95c6, which must not change behaviour): the ends of a wait that no
 * other test pins down, written against the public API only so that the same file runs on both editions. Each checks
 * what the caller is told and what is left in etcd (entries and the attempt's lease).
 */
@WithEtcd(members = 1)
class LockSplitParityIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(30);

    /**
     * A waiter whose own entry is deleted by hand while it waits: when the holder lets go, the snapshot it decided on
     * still shows its entry, so only the confirmation after the wait can tell. It must fail (not be granted), say
     * why, and leave neither its entry nor its lease.
     */
    @Test
    void aWaiterWhoseEntryIsDeletedByHandFailsAtTheConfirmationAndLeavesNoLease(EtcdCluster etcd, Client client)
            throws Exception {
        RwLocks holderLocks = locks(client);
        DistributedLock holder = holderLocks.writeLock("by-hand", 1, LEASE);
        DistributedLock waiter = locks(etcd.newClient()).writeLock("by-hand", 2, LEASE);
        holder.lock();
        CompletableFuture<Void> waiting = waiter.lockAsync();
        awaitWaiting(holderLocks, "by-hand", 1);
        KeyValue waiterEntry = newest(rawEntries(client, "by-hand"));
        await(client.getKVClient().delete(waiterEntry.getKey()));

        holder.unlock();

        assertThatThrownBy(() -> await(waiting))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(LockUnavailableException.class)
                .hasMessageContaining("'by-hand'")
                .hasMessageContaining("its queue entry was removed")
                .hasMessageContaining("nothing is held");
        assertThat(waiter.isHeld()).isFalse();
        assertThat(rawKeys(client, "by-hand")).isEmpty();
        Await.until("the waiter's lease revoked", () -> leaseGone(client, waiterEntry));
    }

    /** A timed-out tryLock is told false only once its entry and lease are gone from etcd. */
    @Test
    void aTimedOutTryLockReturnsOnlyOnceItsEntryAndLeaseAreGone(EtcdCluster etcd, Client client) throws Exception {
        RwLocks holderLocks = locks(client);
        DistributedLock holder = holderLocks.writeLock("timed-out", 1, LEASE);
        DistributedLock waiter = locks(etcd.newClient()).readLock("timed-out", 2, LEASE);
        holder.lock();
        CompletableFuture<Boolean> trying = waiter.tryLockAsync(Duration.ofMillis(1500));
        awaitWaiting(holderLocks, "timed-out", 1);
        KeyValue waiterEntry = newest(rawEntries(client, "timed-out"));

        assertThat(await(trying)).isFalse();

        assertThat(rawKeys(client, "timed-out")).hasSize(1);
        assertThat(ttlOf(client, waiterEntry).getTTL()).as("the waiter's lease, when false was delivered")
                .isEqualTo(-1);
        assertThat(holder.isHeld()).isTrue();
        holder.unlock();
        assertThat(rawKeys(client, "timed-out")).isEmpty();
    }

    /** A one-look attempt on a held lock gives up at once and leaves nothing; the holder keeps the lock. */
    @Test
    void aOneLookAttemptOnAHeldLockLeavesNothing(EtcdCluster etcd, Client client) throws Exception {
        RwLocks holderLocks = locks(client);
        DistributedLock holder = holderLocks.readLock("one-look", 1, LEASE);
        DistributedLock writer = locks(etcd.newClient()).writeLock("one-look", 2, LEASE);
        holder.lock();

        assertThat(await(writer.tryLockAsync(Duration.ZERO))).isFalse();

        List<KeyValue> left = rawEntries(client, "one-look");
        assertThat(left).hasSize(1);
        assertThat(left.get(0).getKey().toString(java.nio.charset.StandardCharsets.UTF_8)).contains("/r-");
        holder.unlock();
        assertThat(await(writer.tryLockAsync(Duration.ZERO))).isTrue();
        assertThat(writer.fencingToken()).isPositive();
        writer.unlock();
        assertThat(rawKeys(client, "one-look")).isEmpty();
    }

    private static KeyValue newest(List<KeyValue> entries) {
        return entries.stream().max((a, b) -> Long.compare(a.getCreateRevision(), b.getCreateRevision()))
                .orElseThrow();
    }

    private static boolean leaseGone(Client client, KeyValue entry) {
        try {
            return ttlOf(client, entry).getTTL() == -1;
        } catch (Exception e) {
            return false;
        }
    }
}
