package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.internal.Acquisition;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LockEngine;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
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
    void aReservationThatCannotGetTheReadLockInTimeLeavesNoQueueEntry() {
        // RwLocks refuses the account locks' names, so the account's write lock is taken through the engine.
        try (LockEngine locks = new LockEngine(client, new KeyLayout(namespace), Duration.ofSeconds(10))) {
            Acquisition writer = locks.acquire("quota/" + account, true, 1, Duration.ofMinutes(1), false,
                    Duration.ZERO).join();
            Map<String, String> writerOnly = raw.locks();
            assertThat(writerOnly).hasSize(1);

            assertThatThrownBy(() -> quota.prepareOccupying(account, Map.of("DISK", 1L)))
                    .isInstanceOf(QuotaUnavailableException.class)
                    .hasMessageContaining("read lock");

            // The reservation's queue entry is removed by the lock engine when its tryLock gives up. The engine
            // reports the give-up before its revoke is answered (fixed on the lock-tests branch, 9381bab), so this
            // one case polls, within the step bound, instead of reading once.
            Await.until("the refused reader's queue entry removed", () -> raw.locks().equals(writerOnly));
            locks.release(writer).join();
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
