package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.lock.LockMode;
import io.woslo.testing.MutableClock;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code check()} (what GET /used_quota serves) and the over-quota scan started by initResourceQuotaData. */
@WithEtcd
class QuotaCheckIT {
    private final String namespace = "/t-" + UUID.randomUUID();
    private final List<QuotaManager> managers = new ArrayList<>();
    private Client client;

    @BeforeEach
    void setUp(Client client) {
        this.client = client;
    }

    @AfterEach
    void tearDown() {
        managers.forEach(QuotaManager::close);
    }

    @Test
    void checkShowsAnOpenReservationAsCacheAboveRealWhileTheReadLockIsHeld() {
        MutableHandler cpu = new MutableHandler(10, 20);
        QuotaManager quota = manager(QuotaManager.builder(client).resource("CPUA", cpu)
                .resource("CPUB", new FixedHandler(0, 20)));
        quota.refresh("acct", true);

        Reservation reservation = quota.prepareOccupying("acct", Map.of("CPUA", 3L));
        List<ResourceCheck> rows = quota.check(List.of("acct"), false).get("acct");

        assertThat(rows).extracting(ResourceCheck::resource).containsExactly("CPUA", "CPUB");
        ResourceCheck cpuRow = rows.get(0);
        assertThat(cpuRow.realUsed()).isEqualTo(10);
        assertThat(cpuRow.realQuota()).isEqualTo(20);
        assertThat(cpuRow.cacheUsed()).as("real plus the reservation in flight").isEqualTo(13);
        assertThat(cpuRow.cacheQuota()).isEqualTo(20);
        assertThat(cpuRow.refreshedAtMillis()).isPositive();
        assertThat(cpuRow.error()).isTrue();
        assertThat(cpuRow.errorMessage()).contains("13", "10");
        assertThat(rows).allSatisfy(row -> assertThat(row.lock()).isEqualTo(LockMode.READ));
        assertThat(rows.get(1).error()).isFalse();
        assertThat(rows.get(1).errorMessage()).isEmpty();
        assertThat(quota.check(List.of("acct"), true).get("acct"))
                .as("only the mismatch").extracting(ResourceCheck::resource).containsExactly("CPUA");

        cpu.used.set(13); // the work is recorded, then the reservation closed
        reservation.close();

        assertThat(quota.check(List.of("acct"), true)).as("nothing to show: the account is left out").isEmpty();
        assertThat(quota.check(List.of("acct"), false).get("acct")).hasSize(2).allSatisfy(row -> {
            assertThat(row.error()).isFalse();
            assertThat(row.lock()).isEqualTo(LockMode.NONE);
        });
    }

    @Test
    void checkWithOnlyErrorsKeepsTheAccountsWithMismatchesMissingCountersOrFailingHandlers() {
        MutableHandler cpu = new MutableHandler(5, 20);
        QuotaManager quota = manager(QuotaManager.builder(client).resource("CPUA", cpu)
                .resource("DISK", new UsedQuotaHandler() {
                    @Override
                    public long queryUsed(String account) throws Exception {
                        if (account.equals("broken")) {
                            throw new java.io.IOException("disk inventory unreachable");
                        }
                        return 1;
                    }

                    @Override
                    public long queryQuota(String account) {
                        return 9;
                    }
                }));
        quota.refresh("clean", true);
        quota.refresh("drifted", true);
        quota.refresh("broken", true, "CPUA");
        quota.cleanUsed("drifted", Map.of("CPUA", 2L));

        Map<String, List<ResourceCheck>> errors = quota.check(List.of("clean", "drifted", "never", "broken"), true);

        assertThat(errors).containsOnlyKeys("drifted", "never", "broken");
        assertThat(errors.get("drifted")).singleElement().satisfies(row -> {
            assertThat(row.resource()).isEqualTo("CPUA");
            assertThat(row.cacheUsed()).isEqualTo(3);
            assertThat(row.realUsed()).isEqualTo(5);
        });
        assertThat(errors.get("never")).hasSize(2).allSatisfy(row -> {
            assertThat(row.errorMessage()).contains("no cached counter");
            assertThat(row.cacheUsed()).isZero();
        });
        assertThat(errors.get("broken")).singleElement().satisfies(row -> {
            assertThat(row.resource()).isEqualTo("DISK");
            assertThat(row.errorMessage()).contains("disk inventory unreachable");
        });
    }

    @Test
    void checkWithoutAccountsListsTheAccountsRefreshedInTheLast24Hours() {
        MutableClock clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.MILLIS));
        QuotaManager quota = manager(QuotaManager.builder(client).resource("CPUA", new FixedHandler(1, 20))
                .clock(clock));
        clock.advance(Duration.ofHours(-25));
        quota.refresh("yesterday", true);
        clock.advance(Duration.ofHours(2));
        quota.refresh("within-a-day", true);
        clock.advance(Duration.ofHours(23));
        quota.prepareOccupying("today", Map.of("CPUA", 1L)).close();

        Map<String, List<ResourceCheck>> all = quota.check(List.of(), false);

        assertThat(all).containsOnlyKeys("within-a-day", "today");
        assertThat(all.get("today")).singleElement().satisfies(row -> assertThat(row.cacheUsed()).isEqualTo(2));
        assertThat(quota.check(List.of(), true)).as("only today's reservation differs from the handler")
                .containsOnlyKeys("today");
    }

    @Test
    void theOverQuotaScanTellsTheListenerTheFiguresOfEachResourceUsedAboveQuota() {
        List<String> told = new CopyOnWriteArrayList<>();
        QuotaManager quota = manager(QuotaManager.builder(client)
                .resource("CPUA", perAccount(Map.of("over", 25L, "under", 5L, "free-over", 30L), 20))
                .resource("DISK", new FixedHandler(3, 20))
                .quotaEnabled(account -> !account.startsWith("free"))
                .overQuotaListener((account, resource, used, limit) ->
                        told.add(account + "/" + resource + " " + used + " of " + limit)));

        List<ResourceCheck> found = quota.scanOverQuota(() -> List.of("over", "under", "free-over"));

        assertThat(told).containsExactly("over/CPUA 25 of 20");
        assertThat(found).singleElement().satisfies(row -> {
            assertThat(row.resource()).isEqualTo("CPUA");
            assertThat(row.realUsed()).isEqualTo(25);
            assertThat(row.realQuota()).isEqualTo(20);
            assertThat(row.error()).isTrue();
        });
    }

    @Test
    void initResourceQuotaDataStartsThePeriodicOverQuotaScan() throws InterruptedException {
        CountDownLatch scanned = new CountDownLatch(2);
        List<String> told = new CopyOnWriteArrayList<>();
        QuotaManager quota = manager(QuotaManager.builder(client)
                .resource("CPUA", perAccount(Map.of("over", 21L, "under", 2L), 20))
                .overQuotaScanInterval(Duration.ofMillis(100))
                .overQuotaListener((account, resource, used, limit) -> {
                    told.add(account + "/" + resource + " " + used + " of " + limit);
                    scanned.countDown();
                }));

        quota.initResourceQuotaData(() -> List.of("over", "under")).join();

        assertThat(scanned.await(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS))
                .as("two periodic scans").isTrue();
        assertThat(told).hasSizeGreaterThanOrEqualTo(2).containsOnly("over/CPUA 21 of 20");
        assertThat(new RawEtcd(client, namespace).used("over", "CPUA")).as("the initial load").isEqualTo(21);
    }

    private QuotaManager manager(QuotaManager.Builder builder) {
        QuotaManager quota = builder.namespace(namespace).build();
        managers.add(quota);
        return quota;
    }

    /** Used figures by account (0 for others), one quota for all. */
    private static UsedQuotaHandler perAccount(Map<String, Long> used, long quota) {
        return new UsedQuotaHandler() {
            @Override
            public long queryUsed(String account) {
                return used.getOrDefault(account, 0L);
            }

            @Override
            public long queryQuota(String account) {
                return quota;
            }
        };
    }
}
