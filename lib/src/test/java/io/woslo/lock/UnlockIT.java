package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Releasing a lock that is not held is a logged no-op: it throws nothing and never removes another holder's key
 * (checked with plain jetcd reads).
 */
@WithEtcd(members = 1)
class UnlockIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Test
    void unlockingWithoutHoldingThrowsNothingAndKeepsTheHoldersKey(EtcdCluster etcd, Client client) throws Exception {
        RwLocks holderLocks = locks(client);
        DistributedLock holder = holderLocks.writeLock("held", 1, LEASE);
        holder.lock();
        List<String> before = rawKeys(client, "held");

        locks(etcd.newClient()).writeLock("held", 2, LEASE).unlock(); // another owner
        locks(etcd.newClient()).writeLock("held", 1, LEASE).unlock(); // same owner id, another RwLocks
        holderLocks.writeLock("held", 1, LEASE).unlock();             // same owner, a handle that never locked
        holderLocks.readLock("held", 1, LEASE).unlock();

        assertThat(rawKeys(client, "held")).isEqualTo(before).hasSize(1);
        assertThat(holderLocks.inspect("held").holders()).containsExactly(1L);
        assertThat(holder.isHeld()).isTrue();
        holder.unlock();
        assertThat(rawKeys(client, "held")).isEmpty();
    }

    @Test
    void unlockingOnceMoreThanLockedIsANoOpAndClosingTwiceIsHarmless(Client client) throws Exception {
        DistributedLock lock = locks(client).readLock("extra", 1, LEASE);
        lock.lock();
        lock.unlock();

        lock.unlock();
        lock.close();
        lock.close();

        assertThat(lock.isHeld()).isFalse();
        assertThat(rawKeys(client, "extra")).isEmpty();
    }

    @Test
    void closingAHandleReleasesEveryHoldTakenThroughIt(Client client) throws Exception {
        DistributedLock lock = locks(client).writeLock("close", 1, LEASE);
        lock.lock();
        lock.lock();

        lock.close();

        assertThat(lock.isHeld()).isFalse();
        assertThat(rawKeys(client, "close")).isEmpty();
    }

    @Test
    void aLateUnlockAfterTheLeaseEndedDoesNotRemoveTheNextHoldersKey(EtcdCluster etcd, Client client) throws Exception {
        Duration shortLease = Duration.ofSeconds(2);
        DistributedLock forgetful = locks(client).writeLock("late", 1, shortLease);
        DistributedLock next = locks(etcd.newClient()).writeLock("late", 2, shortLease.plus(TestTimeouts.step()));
        forgetful.lock();
        next.lock(); // granted once the forgetful holder's lease has ended
        List<String> nextKeys = rawKeys(client, "late");

        forgetful.unlock();

        assertThat(rawKeys(client, "late")).isEqualTo(nextKeys).hasSize(1);
        assertThat(locks(client).inspect("late").holders()).containsExactly(2L);
        assertThat(next.isHeld()).isTrue();
        next.unlock();
    }
}
