package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A lock lives on an etcd lease of its lease time, never renewed (without keep-alive). */
@WithEtcd(members = 1)
class LeaseIT extends LockItSupport {
    private static final Duration SHORT_LEASE = Duration.ofSeconds(2);
    /** Room for etcd's lease expiry check (every 500 ms) and the hand-over. */
    private static final Duration MARGIN = TestTimeouts.scaled(Duration.ofSeconds(3));

    @Test
    void aHolderThatDoesNotUnlockLosesTheLockWhenItsLeaseEnds(EtcdCluster etcd, Client client) throws Exception {
        DistributedLock forgetful = locks(client).writeLock("forgotten", 1, SHORT_LEASE);
        Duration nextLease = SHORT_LEASE.plus(MARGIN);
        DistributedLock next = locks(etcd.newClient()).writeLock("forgotten", 2, nextLease);
        forgetful.lock();
        long forgottenToken = forgetful.fencingToken();

        boolean takenWhileHeld = next.tryLock(Duration.ZERO);
        next.lock(); // waits at most its lease time, lease + margin, or throws LockTimeoutException

        assertThat(takenWhileHeld).isFalse();
        assertThat(next.fencingToken()).isGreaterThan(forgottenToken);
        assertThat(forgetful.isHeld()).as("the forgetful holder knows its lease ended").isFalse();
        // The lease of a lock granted after a wait is counted from the grant, not from when it queued: counted
        // from the queueing, less than nextLease - SHORT_LEASE would be left after waiting out the short lease.
        assertThat(ttlOf(client, rawEntries(client, "forgotten").get(0)).getTTL())
                .isGreaterThanOrEqualTo(nextLease.minus(SHORT_LEASE).toSeconds());
        next.unlock();
    }

    @Test
    void leaseTimesUnderEtcdsMinimumOrBetweenSecondsAreRoundedUp(Client client) throws Exception {
        RwLocks locks = locks(client);
        DistributedLock oneSecond = locks.writeLock("one-second", 1, Duration.ofSeconds(1));
        DistributedLock fractional = locks.writeLock("fractional", 1, Duration.ofMillis(1500));
        oneSecond.lock();
        fractional.lock();

        LeaseTimeToLiveResponse oneSecondLease = ttlOf(client, rawEntries(client, "one-second").get(0));
        LeaseTimeToLiveResponse fractionalLease = ttlOf(client, rawEntries(client, "fractional").get(0));

        assertThat(oneSecondLease.getGrantedTTL()).isGreaterThanOrEqualTo(1);
        assertThat(fractionalLease.getGrantedTTL()).as("1.5 s is rounded up to whole seconds")
                .isGreaterThanOrEqualTo(2);
        assertThat(oneSecondLease.getTTL()).isPositive();
        oneSecond.unlock();
        fractional.unlock();
    }

    @Test
    void eachAcquisitionHasALeaseOfItsOwn(EtcdCluster etcd, Client client) throws Exception {
        Duration lease = Duration.ofSeconds(30);
        locks(client).readLock("own-lease", 1, lease).lock();
        locks(etcd.newClient()).readLock("own-lease", 2, lease).lock();

        List<KeyValue> entries = rawEntries(client, "own-lease");

        assertThat(entries).hasSize(2);
        assertThat(entries.get(0).getLease()).isNotZero().isNotEqualTo(entries.get(1).getLease());
        assertThat(ttlOf(client, entries.get(0)).getGrantedTTL()).isEqualTo(lease.toSeconds());
    }
}
