package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.EtcdMember;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An extended reservation outlives its original lease across a kill -9 of the etcd leader, and ends normally after:
 * stored (record and entry moved to the extension's lease) and held in memory.
 */
@WithEtcd(members = 3)
class ExtendLeaderKillIT extends QuotaItSupport {
    @Test
    void anExtendedReservationOutlivesItsLeaseAcrossALeaderKillAndEndsAfterwards(EtcdCluster etcd) throws Exception {
        QuotaManager quota = closeLater(QuotaManager.builder(etcd.newClient()).namespace(namespace)
                .resource("CPUA", new FixedHandler(0, 100)).lockLeaseTime(Duration.ofSeconds(3))
                .healthCheckInterval(Duration.ofHours(1)).build());
        StoredReservation stored = quota.prepareStoredAsync(account, Map.of("CPUA", 2L))
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        Reservation held = quota.prepareOccupying(account, Map.of("CPUA", 3L));
        long storedLease = record(stored.id()).getLease();

        assertThat(quota.extendStoredAsync(stored.id(), Duration.ofSeconds(40))
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isPresent();
        held.extend(Duration.ofSeconds(40));
        assertThat(record(stored.id()).getLease()).as("moved to a lease of its own").isNotEqualTo(storedLease);

        EtcdMember leader = etcd.awaitLeader();
        leader.kill();
        etcd.awaitLeader();
        // The original (pooled) leases end: a new leader renews every lease once, so wait for the evidence.
        Await.until("the reservations' original lease ended", Duration.ofSeconds(30),
                () -> ttl(storedLease) < 0);
        assertThat(record(stored.id())).as("the stored reservation lives on").isNotNull();
        assertThat(raw.locks()).as("both entries live on").hasSize(2);
        assertThat(raw.used(account, "CPUA")).isEqualTo(5);

        assertThat(quota.finishStoredAsync(stored.id(), Map.of("CPUA", 1L), null)
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        held.commit(Map.of("CPUA", 2L));
        assertThat(raw.used(account, "CPUA")).isEqualTo(3);
        assertThat(raw.locks()).isEmpty();
        assertThat(raw.under("/reservations/")).isEmpty();
        leader.restart();
    }

    private KeyValue record(String id) throws Exception {
        var kvs = raw.client().getKVClient().get(ByteSequence.from(namespace + "/reservations/" + id,
                StandardCharsets.UTF_8)).get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getKvs();
        return kvs.isEmpty() ? null : kvs.get(0);
    }

    private long ttl(long lease) {
        try {
            return raw.client().getLeaseClient().timeToLive(lease, io.etcd.jetcd.options.LeaseOption.builder().build())
                    .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getTTL();
        } catch (Exception e) {
            return 1; // not known yet
        }
    }
}
