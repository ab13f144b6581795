package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** With the opt-in keep-alive mode, a held lock's lease is renewed for as long as its holder keeps it. */
@WithEtcd(members = 1)
class KeepAliveIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(2);

    @Test
    void aKeptAliveLockOutlivesTwiceItsLeaseAndIsGoneAfterUnlock(EtcdCluster etcd, Client client) throws Exception {
        DistributedLock kept = locks(client, builder -> builder.keepAlive(true)).writeLock("kept", 1, LEASE);
        DistributedLock other = locks(etcd.newClient()).writeLock("kept", 2, Duration.ofSeconds(30));
        kept.lock();
        List<String> keptKeys = rawKeys(client, "kept");

        // Waiting out the lease is the behaviour under test: the other client tries for twice the lease time.
        boolean otherGotIt = other.tryLock(LEASE.multipliedBy(2));

        assertThat(otherGotIt).isFalse();
        assertThat(rawKeys(client, "kept")).isEqualTo(keptKeys).hasSize(1);
        assertThat(ttlOf(client, rawEntries(client, "kept").get(0)).getTTL()).isPositive();
        assertThat(kept.isHeld()).isTrue();

        kept.unlock();

        assertThat(rawKeys(client, "kept")).isEmpty();
        assertThat(other.tryLock(Duration.ZERO)).isTrue();
        other.unlock();
    }

    @Test
    void withoutKeepAliveTheSameLockEndsWithItsLease(EtcdCluster etcd, Client client) throws Exception {
        DistributedLock unrenewed = locks(client).writeLock("unrenewed", 1, LEASE);
        DistributedLock other = locks(etcd.newClient()).writeLock("unrenewed", 2, Duration.ofSeconds(30));
        unrenewed.lock();

        boolean otherGotIt = other.tryLock(LEASE.multipliedBy(2));

        assertThat(otherGotIt).as("the control case of the keep-alive test").isTrue();
        other.unlock();
    }
}
