package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Many threads in several managers, each on its own etcd client, race for the same counters: the compare-and-swap
 * transactions must let exactly the quota through, and a reservation over two resources must never land on one only.
 */
@WithEtcd
class QuotaRaceIT {
    private static final int THREADS = 8;
    private static final int MANAGERS = 3;

    private final String namespace = "/t-" + UUID.randomUUID();
    private final List<QuotaManager> managers = new ArrayList<>();
    private ExecutorService pool;
    private RawEtcd raw;

    @BeforeEach
    void setUp(Client client) {
        raw = new RawEtcd(client, namespace);
        pool = Executors.newFixedThreadPool(THREADS);
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        managers.forEach(QuotaManager::close);
    }

    @Test
    void exactlyTheQuotaSucceedsWhenManyThreadsInSeveralManagersRace(EtcdCluster etcd) throws Exception {
        for (int i = 0; i < MANAGERS; i++) {
            managers.add(QuotaManager.builder(etcd.newClient()).namespace(namespace)
                    .resource("CPUA", new FixedHandler(0, 100))
                    .build());
        }
        managers.get(0).refresh("acct", true);
        assertThat(raw.used("acct", "CPUA")).isZero();

        Outcomes outcomes = race(520, attempt -> {
            try (Reservation r = managers.get(attempt % MANAGERS).prepareOccupying("acct", Map.of("CPUA", 1L))) {
                assertThat(r.amounts()).isEqualTo(Map.of("CPUA", 1L));
            }
        });

        assertThat(outcomes.unexpected).isEmpty();
        assertThat(outcomes.successes.get()).isEqualTo(100);
        assertThat(outcomes.exceeded).hasSize(420);
        assertThat(outcomes.exceeded).allSatisfy(e -> {
            assertThat(e.resource()).isEqualTo("CPUA");
            assertThat(e.quota()).isEqualTo(100);
            assertThat(e.used() + e.requested()).isGreaterThan(100);
        });
        assertThat(raw.used("acct", "CPUA")).isEqualTo(100);
        assertThat(raw.locks()).as("account locks once every call has returned").isEmpty();
    }

    @Test
    void aReservationPreparedOnCountersAnotherProcessChangedIsPlannedAgainAndCounted(EtcdCluster etcd) {
        for (int i = 0; i < 2; i++) {
            managers.add(QuotaManager.builder(etcd.newClient()).namespace(namespace)
                    .resource("CPUA", new FixedHandler(0, 100))
                    .build());
        }
        QuotaManager first = managers.get(0);
        QuotaManager second = managers.get(1);
        first.refresh("stale", true);
        first.prepareOccupying("stale", Map.of("CPUA", 1L)).close();   // first now knows the counter's revision
        second.prepareOccupying("stale", Map.of("CPUA", 2L)).close();  // ...which second then changes
        long before = first.conflictCount();

        first.prepareOccupying("stale", Map.of("CPUA", 4L)).close();

        assertThat(first.conflictCount() - before).as("first's compare lost once, then it planned again").isEqualTo(1);
        assertThat(raw.used("stale", "CPUA")).isEqualTo(7);
    }

    @Test
    void aReservationOfTwoResourcesIsNeverHalfApplied(EtcdCluster etcd) throws Exception {
        for (int i = 0; i < MANAGERS; i++) {
            managers.add(QuotaManager.builder(etcd.newClient()).namespace(namespace)
                    .resource("A", new FixedHandler(0, 60))
                    .resource("B", new FixedHandler(0, 25))
                    .build());
        }
        managers.get(0).refresh("acct", true);
        Map<String, Long> both = new LinkedHashMap<>();
        both.put("A", 1L);
        both.put("B", 1L);

        Outcomes outcomes = race(120, attempt -> {
            try (Reservation r = managers.get(attempt % MANAGERS).prepareOccupying("acct", both)) {
                assertThat(r.amounts()).isEqualTo(both);
            }
        });

        assertThat(outcomes.unexpected).isEmpty();
        assertThat(outcomes.successes.get()).isEqualTo(25);
        assertThat(outcomes.exceeded).hasSize(95).allSatisfy(e -> assertThat(e.resource()).isEqualTo("B"));
        assertThat(raw.used("acct", "A")).as("A, which had room for all").isEqualTo(25);
        assertThat(raw.used("acct", "B")).isEqualTo(25);
    }

    /** What a race produced: successes, quota refusals, and anything else (which is a failure of the test). */
    private static final class Outcomes {
        final AtomicInteger successes = new AtomicInteger();
        final List<QuotaExceededException> exceeded = Collections.synchronizedList(new ArrayList<>());
        final ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
    }

    @FunctionalInterface
    private interface Attempt {
        void run(int index) throws Exception;
    }

    /** Runs {@code attempts} attempts on the pool, released together, and sorts their outcomes. */
    private Outcomes race(int attempts, Attempt attempt) throws InterruptedException {
        Outcomes outcomes = new Outcomes();
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(attempts);
        for (int i = 0; i < attempts; i++) {
            int index = i;
            pool.execute(() -> {
                try {
                    start.await();
                    attempt.run(index);
                    outcomes.successes.incrementAndGet();
                } catch (QuotaExceededException e) {
                    outcomes.exceeded.add(e);
                } catch (Throwable e) {
                    outcomes.unexpected.add(e);
                } finally {
                    done.countDown();
                }
            });
        }
        start.countDown();
        assertThat(done.await(TestTimeouts.step().multipliedBy(3).toMillis(), TimeUnit.MILLISECONDS))
                .as("all %d attempts finished", attempts).isTrue();
        return outcomes;
    }
}
