package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Where accounts land in etcd: escaped names stay in their own place, and accounts without quota write nothing. */
@WithEtcd
class QuotaNamesIT {
    private final String namespace = "/t-" + UUID.randomUUID();
    private QuotaManager quota;
    private RawEtcd raw;

    @BeforeEach
    void setUp(Client client) {
        raw = new RawEtcd(client, namespace);
        quota = QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", new FixedHandler(10, 20))
                .quotaEnabled(account -> !account.startsWith("free"))
                .build();
    }

    @AfterEach
    void tearDown() {
        quota.close();
    }

    @Test
    void anAccountNameWithSlashSpacePercentAndAccentIsEscapedIntoOneSegment() {
        String odd = "a/b c%é";
        String escaped = "a%2Fb%20c%25%C3%A9";
        quota.refresh("a", true);
        assertThat(raw.locks()).as("lock keys when refresh() has returned").isEmpty();
        String counterOfA = raw.under("/quota/a/").get(namespace + "/quota/a/CPUA");
        assertThat(counterOfA).isNotNull();

        try (Reservation r = quota.prepareOccupying(odd, Map.of("CPUA", 2L))) {
            assertThat(r.account()).isEqualTo(odd);
            assertThat(raw.locks()).isNotEmpty().allSatisfy((key, value) ->
                    assertThat(key).startsWith(namespace + "/locks/quota%2F" + escaped + "/"));
        }

        assertThat(raw.value(namespace + "/quota/" + escaped + "/CPUA")).hasValueSatisfying(
                counter -> assertThat(counter.path("used").asLong()).isEqualTo(12));
        assertThat(raw.under("/quota/")).containsOnlyKeys(
                namespace + "/quota/a/CPUA", namespace + "/quota/" + escaped + "/CPUA");
        assertThat(raw.under("/quota/a/")).as("account a's counters, untouched")
                .containsExactly(Map.entry(namespace + "/quota/a/CPUA", counterOfA));
        assertThat(raw.under("/accounts/")).containsOnlyKeys(
                namespace + "/accounts/a", namespace + "/accounts/" + escaped);
        assertThat(quota.recentAccounts(Duration.ofHours(1))).containsExactlyInAnyOrder("a", odd);
        assertThat(quota.check(List.of(odd), false).get(odd)).singleElement()
                .satisfies(row -> assertThat(row.cacheUsed()).isEqualTo(12));
    }

    @Test
    void anAccountWithQuotaOffGetsNoOpReservationsAndNothingIsWrittenForIt() throws Exception {
        quota.initResourceQuotaData(() -> List.of("paid", "free-1")).join();

        try (Reservation r = quota.prepareOccupying("free-1", Map.of("CPUA", 500L))) {
            assertThat(r.amounts()).as("far over quota, yet let through unchanged").isEmpty();
            assertThat(raw.locks()).as("no lock for a reservation that changed nothing").isEmpty();
            r.rollback();
        }
        quota.cleanUsed("free-1", Map.of("CPUA", 5L));
        quota.rollback("free-1", Map.of("CPUA", 5L), Instant.now());
        RefreshResult refresh = quota.refresh("free-1", true);
        assertThat(refresh.refreshed()).isEmpty();
        assertThatThrownBy(() -> quota.prepareOccupying("free-1", Map.of("GPU", 1L)))
                .as("input is still checked").isInstanceOf(IllegalArgumentException.class);

        assertThat(raw.under("/")).as("keys of the account with quota off").noneSatisfy(
                (key, value) -> assertThat(key).contains("free"));
        assertThat(raw.under("/")).as("the account with quota on was loaded")
                .containsKeys(namespace + "/quota/paid/CPUA", namespace + "/accounts/paid");
    }
}
