package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * When a quota call returns, its account lock key is gone from etcd: at once, not some time later. Failed calls
 * are the contract's explicit case (a failed call holds no lock); successful refreshes and releases likewise, so
 * that a caller who refreshed and then inspects the lock, or reserves, does not meet the refresh's own lock.
 */
@WithEtcd
class QuotaLockReleaseIT {
    private final String namespace = "/t-" + UUID.randomUUID();
    private final String account = "acct-" + UUID.randomUUID();
    private final MutableHandler cpu = new MutableHandler(18, 20);
    private final MutableHandler disk = new MutableHandler(0, 20);
    private Client client;
    private QuotaManager quota;
    private RawEtcd raw;

    @BeforeEach
    void setUp(Client client) {
        this.client = client;
        raw = new RawEtcd(client, namespace);
        quota = QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", cpu)
                .resource("DISK", disk)
                .operationTimeout(Duration.ofSeconds(1))
                .build();
        quota.refresh(account, true);
        assertThat(raw.locks()).as("lock keys when refresh() has returned").isEmpty();
    }

    @AfterEach
    void tearDown() {
        quota.close();
    }

    @Test
    void aReservationRefusedForQuotaHoldsNoLockWhenItThrows() {
        Map<String, Long> requirement = new LinkedHashMap<>();
        requirement.put("DISK", 1L);
        requirement.put("CPUA", 3L);

        assertThatThrownBy(() -> quota.prepareOccupying(account, requirement))
                .isInstanceOf(QuotaExceededException.class);

        assertThat(raw.locks()).isEmpty();
        assertThat(raw.used(account, "DISK")).isZero();
    }

    @Test
    void aReleaseRefusedBelowZeroHoldsNoLockWhenItThrows() {
        assertThatThrownBy(() -> quota.cleanUsed(account, Map.of("DISK", 1L)))
                .isInstanceOf(QuotaAbnormalException.class);
        assertThat(raw.locks()).isEmpty();

        assertThatThrownBy(() -> quota.rollback(account, Map.of("CPUA", 1L, "DISK", 1L), Instant.now()))
                .isInstanceOf(QuotaAbnormalException.class);
        assertThat(raw.locks()).isEmpty();
        assertThat(raw.used(account, "CPUA")).isEqualTo(18);
    }

    @Test
    void aReservationWhoseHandlerFailsHoldsNoLockWhenItThrows() {
        QuotaManager broken = QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", new UsedQuotaHandler() {
                    @Override
                    public long queryUsed(String account) {
                        return 0;
                    }

                    @Override
                    public long queryQuota(String account) throws Exception {
                        throw new java.io.IOException("quota service down");
                    }
                })
                .build();
        try (broken) {
            assertThatThrownBy(() -> broken.prepareOccupying(account, Map.of("CPUA", 1L)))
                    .isInstanceOf(QuotaUnavailableException.class)
                    .hasMessageContaining("quota service down");
        }
        assertThat(raw.locks()).isEmpty();
        assertThat(raw.used(account, "CPUA")).isEqualTo(18);
    }

    @Test
    void aReservationThatCannotGetTheReadLockInTimeLeavesNoQueueEntry() throws Exception {
        GatedHandler slowDisk = new GatedHandler(0, 20);
        QuotaManager refreshing = QuotaManager.builder(client).namespace(namespace).resource("DISK", slowDisk).build();
        try (refreshing) {
            slowDisk.gate();
            CompletableFuture<RefreshResult> refresh = refreshing.refreshAsync(account, true);
            slowDisk.awaitCalled(); // the refresh holds the account's write lock
            Map<String, String> writerOnly = raw.locks();
            assertThat(writerOnly).hasSize(1);

            assertThatThrownBy(() -> quota.prepareOccupying(account, Map.of("DISK", 1L)))
                    .isInstanceOf(QuotaBusyException.class)
                    .hasMessageContaining("read lock");
            assertThat(raw.locks()).as("the refused reader's queue entry is gone when the call returns")
                    .isEqualTo(writerOnly);

            slowDisk.open();
            refresh.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        }
        assertThat(raw.locks()).isEmpty();
        assertThat(raw.used(account, "DISK")).isZero();
    }

    @Test
    void successfulRefreshesReleasesAndReservationsHoldNoLockWhenTheyReturn() {
        quota.refresh(account, true, "CPUA");
        assertThat(raw.locks()).as("after refresh()").isEmpty();

        Reservation r = quota.prepareOccupying(account, Map.of("DISK", 2L));
        assertThat(raw.locks()).as("while a reservation is open").hasSize(1);
        r.close();
        assertThat(raw.locks()).as("after close()").isEmpty();

        quota.cleanUsed(account, Map.of("DISK", 1L));
        assertThat(raw.locks()).as("after cleanUsed()").isEmpty();
        quota.rollback(account, Map.of("DISK", 1L), Instant.now());
        assertThat(raw.locks()).as("after rollback()").isEmpty();
        assertThat(raw.used(account, "DISK")).isZero();
    }
}
