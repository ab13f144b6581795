package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.WithEtcd;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The original edition's README example, step by step, with the counters read back raw from etcd. */
@WithEtcd
class SeedExampleIT {
    private final String namespace = "/seed-" + UUID.randomUUID();
    private Client client;
    private QuotaManager quota;

    @BeforeEach
    void setUp(Client client) {
        this.client = client;
        this.quota = QuotaManager.builder(client)
                .namespace(namespace)
                .resource("CPUA", new FixedHandler(10, 20))
                .resource("CPUB", new FixedHandler(0, 20))
                .resource("CPUC", new FixedHandler(18, 20))
                .resource("CPUD", new FixedHandler(20, 20))
                .build();
        quota.initResourceQuotaData(() -> java.util.List.of("account1", "account2")).join();
    }

    @AfterEach
    void tearDown() {
        quota.close();
    }

    @Test
    void reservingCpuaAndCpubWritesElevenAndTwo() {
        try (Reservation r = quota.prepareOccupying("account1", Map.of("CPUA", 1L, "CPUB", 2L))) {
            assertThat(r.amounts()).isEqualTo(Map.of("CPUA", 1L, "CPUB", 2L));
            assertThat(used("account1", "CPUA")).isEqualTo(11);
            assertThat(used("account1", "CPUB")).isEqualTo(2);
        }
    }

    @Test
    void aShortResourceFailsTheWholeReservationAndNamesIt() {
        Map<String, Long> requirement = new LinkedHashMap<>();
        requirement.put("CPUA", 1L);
        requirement.put("CPUC", 3L);

        assertThatThrownBy(() -> quota.prepareOccupying("account1", requirement))
                .isInstanceOfSatisfying(QuotaExceededException.class, e -> {
                    assertThat(e.resource()).isEqualTo("CPUC");
                    assertThat(e.requested()).isEqualTo(3);
                    assertThat(e.used()).isEqualTo(18);
                    assertThat(e.quota()).isEqualTo(20);
                    assertThat(e.getMessage()).contains("CPUC", "3", "18", "20");
                });
        assertThat(used("account1", "CPUA")).isEqualTo(10);
        assertThat(used("account1", "CPUC")).isEqualTo(18);
        assertThatThrownBy(() -> quota.prepareOccupying("account1", Map.of("CPUD", 1L)))
                .isInstanceOf(QuotaExceededException.class);
    }

    @Test
    void rollbackCleanUsedAndLateRollbackFollowTheSeed() {
        try (Reservation r = quota.prepareOccupying("account1", Map.of("CPUA", 1L, "CPUB", 2L))) {
            r.rollback();
            r.rollback();
            assertThat(used("account1", "CPUA")).isEqualTo(10);
            assertThat(used("account1", "CPUB")).isZero();
        }

        quota.cleanUsed("account1", Map.of("CPUA", 3L));
        assertThat(used("account1", "CPUA")).isEqualTo(7);

        assertThatThrownBy(() -> quota.cleanUsed("account1", Map.of("CPUA", 1L, "CPUB", 1L)))
                .isInstanceOf(QuotaAbnormalException.class)
                .hasMessageContaining("CPUB");
        assertThat(used("account1", "CPUA")).isEqualTo(7);

        Instant beforeRefresh = Instant.now().minusSeconds(60);
        quota.rollback("account1", Map.of("CPUA", 1L), beforeRefresh);
        assertThat(used("account1", "CPUA")).as("refreshed after the error: skipped").isEqualTo(7);

        quota.rollback("account1", Map.of("CPUA", 1L), Instant.now());
        assertThat(used("account1", "CPUA")).isEqualTo(6);
    }

    @Test
    void refreshBringsCountersBackToTheHandlersFigures() {
        quota.cleanUsed("account2", Map.of("CPUA", 5L));
        assertThat(used("account2", "CPUA")).isEqualTo(5);
        assertThat(quota.check(java.util.List.of("account2"), true)).containsKey("account2");

        RefreshResult result = quota.refresh("account2", true);

        assertThat(result.ok()).isTrue();
        assertThat(used("account2", "CPUA")).isEqualTo(10);
        assertThat(quota.check(java.util.List.of("account2"), true)).isEmpty();
    }

    private long used(String account, String resource) {
        return new RawEtcd(client, namespace).used(account, resource);
    }
}
