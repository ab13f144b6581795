package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Reservations on an account that several processes keep changing are planned on several states of its counter
 * at once (nested transactions comparing the counter's value): a batch whose view another process made stale still
 * commits on the state that process left, never over quota, and a refusal is still decided on what etcd holds.
 */
@WithEtcd
class SpeculativeReservationIT extends QuotaItSupport {

    private QuotaManager manager(Client client, MutableHandler cpu) {
        return closeLater(QuotaManager.builder(client).namespace(namespace).cacheTtl(Duration.ofHours(1))
                .resource("CPUA", cpu).build());
    }

    @Test
    void aBatchOnAStaleViewCommitsOnTheStateAnotherProcessLeft(EtcdCluster etcd) throws Exception {
        MutableHandler cpu = new MutableHandler(0, 100);
        QuotaManager a = manager(etcd.newClient(), cpu);
        QuotaManager b = manager(etcd.newClient(), cpu);
        a.refresh(account, true);

        a.prepareOccupying(account, Map.of("CPUA", 1L)).close();   // a sees used 1
        b.prepareOccupying(account, Map.of("CPUA", 1L)).close();   // 2: a's view is stale
        a.prepareOccupying(account, Map.of("CPUA", 1L)).close();   // a loses a round: the account is contended
        assertThat(a.conflictCount()).isEqualTo(1);
        b.prepareOccupying(account, Map.of("CPUA", 2L)).close();   // 5; a still sees 3
        long before = a.conflictCount();

        a.prepareOccupying(account, Map.of("CPUA", 1L)).close();   // planned on 3 and on 4, 5, ...: commits on 5

        assertThat(a.speculativeCommits()).as("committed on a state it planned for, not the one it saw").isEqualTo(1);
        assertThat(a.conflictCount()).as("no round lost").isEqualTo(before);
        assertThat(raw.used(account, "CPUA")).isEqualTo(6);
    }

    @Test
    void aRefusalIsDecidedOnTheCounterEtcdHolds(EtcdCluster etcd) throws Exception {
        MutableHandler cpu = new MutableHandler(0, 10);
        QuotaManager a = manager(etcd.newClient(), cpu);
        QuotaManager b = manager(etcd.newClient(), cpu);
        a.refresh(account, true);
        a.prepareOccupying(account, Map.of("CPUA", 5L)).close();
        b.prepareOccupying(account, Map.of("CPUA", 1L)).close();
        a.prepareOccupying(account, Map.of("CPUA", 1L)).close();   // contended now; used 7, a sees 7
        b.prepareOccupying(account, Map.of("CPUA", 2L)).close();   // 9; a still sees 7

        // On a's view 2 more fit (7 + 2 = 9), on the real state they do not (9 + 2 = 11 > 10).
        assertThatThrownBy(() -> a.prepareOccupying(account, Map.of("CPUA", 2L)))
                .isInstanceOfSatisfying(QuotaExceededException.class, e -> {
                    assertThat(e.used()).isEqualTo(9);
                    assertThat(e.quota()).isEqualTo(10);
                });
        assertThat(raw.used(account, "CPUA")).isEqualTo(9);
        a.prepareOccupying(account, Map.of("CPUA", 1L)).close();
        assertThat(raw.used(account, "CPUA")).isEqualTo(10);
    }

    @Test
    void threeProcessesRacingOnOneAccountNeverGoOverQuotaAndCountEveryReservation(EtcdCluster etcd)
            throws Exception {
        long quota = 600;
        MutableHandler cpu = new MutableHandler(0, quota);
        List<QuotaManager> managers = List.of(manager(etcd.newClient(), cpu), manager(etcd.newClient(), cpu),
                manager(etcd.newClient(), cpu));
        managers.get(0).refresh(account, true);
        AtomicLong kept = new AtomicLong();
        AtomicLong refused = new AtomicLong();
        AtomicLong maxSeen = new AtomicLong();
        List<CompletableFuture<Void>> loops = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            QuotaManager quotaManager = managers.get(i % 3);
            long amount = 1 + i % 3;
            loops.add(CompletableFuture.runAsync(() -> {
                for (int n = 0; n < 20; n++) {
                    try (Reservation r = quotaManager.prepareOccupying(account, Map.of("CPUA", amount))) {
                        if (n % 4 == 3) {
                            r.rollback();
                        } else {
                            kept.addAndGet(amount);
                        }
                    } catch (QuotaExceededException e) {
                        refused.incrementAndGet();
                        maxSeen.accumulateAndGet(e.used(), Math::max);
                        assertThat(e.used() + e.requested()).isGreaterThan(e.quota());
                    }
                }
            }));
        }
        CompletableFuture.allOf(loops.toArray(CompletableFuture[]::new))
                .get(TestTimeouts.step().toMillis() * 6, TimeUnit.MILLISECONDS);

        long used = raw.used(account, "CPUA");
        assertThat(used).as("every kept reservation counted once, nothing else").isEqualTo(kept.get());
        assertThat(used).isLessThanOrEqualTo(quota);
        assertThat(maxSeen.get()).isLessThanOrEqualTo(quota);
        assertThat(raw.locks()).as("every lock released").isEmpty();
        assertThat(managers.stream().mapToLong(QuotaManager::speculativeCommits).sum())
                .as("the race was decided speculatively at least once").isPositive();
    }
}
