package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Within one {@link RwLocks}, an owner may take a lock it holds again, and must unlock as often. */
@WithEtcd(members = 1)
class ReentrancyIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Test
    void theSameHandleTakenTwiceMustBeUnlockedTwiceBeforeAnotherOwnerGetsIt(EtcdCluster etcd, Client client)
            throws Exception {
        DistributedLock mine = locks(client).writeLock("twice", 1, LEASE);
        DistributedLock other = locks(etcd.newClient()).writeLock("twice", 2, LEASE);

        mine.lock();
        mine.lock();
        assertThat(rawKeys(client, "twice")).as("a re-entry shares the first entry").hasSize(1);

        mine.unlock();
        assertThat(other.tryLock(Duration.ZERO)).as("after one of two unlocks").isFalse();
        assertThat(mine.isHeld()).isTrue();

        mine.unlock();
        assertThat(other.tryLock(Duration.ZERO)).as("after both unlocks").isTrue();
        other.unlock();
    }

    @Test
    void anotherHandleOfTheSameOwnerJoinsTheHoldAndCountsSeparately(EtcdCluster etcd, Client client) throws Exception {
        RwLocks locks = locks(client);
        DistributedLock first = locks.writeLock("two-handles", 1, LEASE);
        DistributedLock second = locks.writeLock("two-handles", 1, LEASE);
        DistributedLock other = locks(etcd.newClient()).writeLock("two-handles", 2, LEASE);

        first.lock();
        boolean secondGotIt = second.tryLock(Duration.ZERO);

        assertThat(secondGotIt).isTrue();
        assertThat(second.fencingToken()).isEqualTo(first.fencingToken());
        assertThat(locks.inspect("two-handles").holders()).containsExactly(1L);

        second.unlock();
        assertThat(other.tryLock(Duration.ZERO)).as("while the first handle still holds").isFalse();
        first.unlock();
        assertThat(other.tryLock(Duration.ZERO)).as("after both handles unlocked").isTrue();
        other.unlock();
    }

    @Test
    void aReadHolderAskingForTheWriteLockGetsIllegalStateAndKeepsItsReadLock(Client client) throws Exception {
        RwLocks locks = locks(client);
        DistributedLock read = locks.readLock("upgrade", 1, LEASE);
        DistributedLock write = locks.writeLock("upgrade", 1, LEASE);
        read.lock();

        assertThatThrownBy(write::lock)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("upgrade")
                .hasMessageContaining("owner 1");
        assertThatThrownBy(() -> write.tryLock(Duration.ZERO)).isInstanceOf(IllegalStateException.class);

        LockInfo info = locks.inspect("upgrade");
        assertThat(info.mode()).isEqualTo(LockMode.READ);
        assertThat(info.holders()).containsExactly(1L);
        assertThat(write.isHeld()).isFalse();
        read.unlock();
        assertThat(rawKeys(client, "upgrade")).isEmpty();
    }

    @Test
    void aWriteHolderMayAlsoTakeTheReadLock(Client client) throws Exception {
        RwLocks locks = locks(client);
        DistributedLock write = locks.writeLock("downgrade", 1, LEASE);
        DistributedLock read = locks.readLock("downgrade", 1, LEASE);
        write.lock();

        boolean readGotIt = read.tryLock(Duration.ZERO);

        assertThat(readGotIt).isTrue();
        read.unlock();
        assertThat(locks.inspect("downgrade").mode()).as("the write hold outlives the nested read")
                .isEqualTo(LockMode.WRITE);
        write.unlock();
        assertThat(locks.inspect("downgrade").mode()).isEqualTo(LockMode.NONE);
    }

    @Test
    void theSameOwnerIdInAnotherRwLocksInstanceDoesNotShareTheHold(Client client) throws Exception {
        DistributedLock here = locks(client).writeLock("instances", 1, LEASE);
        DistributedLock there = locks(client).writeLock("instances", 1, LEASE);
        here.lock();

        assertThat(there.tryLock(Duration.ZERO)).isFalse();
        here.unlock();
    }
}
