package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Invalid input is refused with an {@link IllegalArgumentException} that names the bad value, before anything
 * reaches etcd: no counter changes and no lock key is left behind.
 */
@WithEtcd
class QuotaArgumentsIT {
    private static final String ACCOUNT = "acct";

    private final String namespace = "/t-" + UUID.randomUUID();
    private Client client;
    private QuotaManager quota;
    private RawEtcd raw;
    private Map<String, String> before;

    @BeforeEach
    void setUp(Client client) {
        this.client = client;
        quota = QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", new FixedHandler(10, 20))
                .resource("CPUB", new FixedHandler(0, 20))
                .build();
        quota.refresh(ACCOUNT, true);
        raw = new RawEtcd(client, namespace);
        assertThat(raw.locks()).as("lock keys when refresh() has returned").isEmpty();
        before = raw.under("/");
        assertThat(before).containsKeys(namespace + "/quota/acct/CPUA", namespace + "/accounts/acct");
    }

    @AfterEach
    void tearDown() {
        quota.close();
    }

    static Stream<Arguments> badCalls() {
        Map<String, Long> nullAmount = new HashMap<>();
        nullAmount.put("CPUB", null);
        Map<String, Long> nullResource = new HashMap<>();
        nullResource.put(null, 1L);
        Instant inAnHour = Instant.now().plus(Duration.ofHours(1));
        return Stream.of(
                bad("prepareOccupying, null account",
                        q -> q.prepareOccupying(null, Map.of("CPUA", 1L)), "account", "null"),
                bad("prepareOccupying, empty account",
                        q -> q.prepareOccupying("", Map.of("CPUA", 1L)), "account", "empty"),
                bad("prepareOccupying, null requirement",
                        q -> q.prepareOccupying(ACCOUNT, null), "requirement", "null"),
                bad("prepareOccupying, unknown resource", q -> q.prepareOccupying(ACCOUNT, Map.of("GPU", 1L)), "'GPU'"),
                bad("prepareOccupying, null resource", q -> q.prepareOccupying(ACCOUNT, nullResource), "null resource"),
                bad("prepareOccupying, negative amount",
                        q -> q.prepareOccupying(ACCOUNT, Map.of("CPUA", -3L)), "CPUA", "-3"),
                bad("prepareOccupying, null amount", q -> q.prepareOccupying(ACCOUNT, nullAmount), "CPUB", "no amount"),
                bad("prepareOccupyingAsync throws at once, unknown resource",
                        q -> q.prepareOccupyingAsync(ACCOUNT, Map.of("GPU", 1L)), "'GPU'"),
                bad("cleanUsed, null account", q -> q.cleanUsed(null, Map.of("CPUA", 1L)), "account", "null"),
                bad("cleanUsed, null amounts", q -> q.cleanUsed(ACCOUNT, null), "amounts", "null"),
                bad("cleanUsed, unknown resource", q -> q.cleanUsed(ACCOUNT, Map.of("GPU", 1L)), "'GPU'"),
                bad("cleanUsed, negative amount", q -> q.cleanUsed(ACCOUNT, Map.of("CPUA", -2L)), "CPUA", "-2"),
                bad("rollback, empty account",
                        q -> q.rollback("", Map.of("CPUA", 1L), Instant.now()), "account", "empty"),
                bad("rollback, null errorTime",
                        q -> q.rollback(ACCOUNT, Map.of("CPUA", 1L), null), "errorTime", "null"),
                bad("rollback, errorTime an hour in the future",
                        q -> q.rollback(ACCOUNT, Map.of("CPUA", 1L), inAnHour), "errorTime", inAnHour.toString()),
                bad("rollback, errorTime before any epoch millisecond (overflow)",
                        q -> q.rollback(ACCOUNT, Map.of("CPUA", 1L), Instant.MIN), "errorTime", Instant.MIN.toString()),
                bad("rollback, unknown resource", q -> q.rollback(ACCOUNT, Map.of("GPU", 1L), Instant.now()), "'GPU'"),
                bad("rollback, negative amount",
                        q -> q.rollback(ACCOUNT, Map.of("CPUB", -1L), Instant.now()), "CPUB", "-1"),
                bad("refresh, null account", q -> q.refresh(null, true), "account", "null"),
                bad("refresh, unknown resource", q -> q.refresh(ACCOUNT, true, "CPUA", "GPU"), "'GPU'"),
                bad("refresh, null resource", q -> q.refresh(ACCOUNT, true, (String) null), "resources", "null"),
                bad("refreshAsync throws at once, unknown resource",
                        q -> q.refreshAsync(ACCOUNT, false, "GPU"), "'GPU'"),
                bad("check, null accounts", q -> q.check(null, false), "accounts", "null"),
                bad("check, empty account name", q -> q.check(java.util.List.of(""), false), "account", "empty"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badCalls")
    void invalidInputIsRefusedNamingTheValueAndLeavesNothingBehind(String name, Call call,
                                                                   String[] named) {
        assertThatThrownBy(() -> call.on(quota))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageContainingAll(named);

        assertThat(raw.locks()).as("lock keys").isEmpty();
        assertThat(raw.under("/")).as("everything under the namespace").isEqualTo(before);
    }

    static Stream<Arguments> badBuilders() {
        UsedQuotaHandler h = new FixedHandler(0, 1);
        return Stream.of(
                badBuilder("no resource", b -> b.build(), "no resource"),
                badBuilder("duplicate resource", b -> b.resource("CPUA", h).resource("CPUA", h), "'CPUA'", "twice"),
                badBuilder("null resource name", b -> b.resource(null, h), "resource", "null"),
                badBuilder("empty resource name", b -> b.resource("", h), "resource", "empty"),
                badBuilder("null handler", b -> b.resource("CPUA", null), "handler", "CPUA"),
                badBuilder("zero cacheTtl", b -> b.cacheTtl(Duration.ZERO), "cacheTtl", "PT0S"),
                badBuilder("negative cacheTtl", b -> b.cacheTtl(Duration.ofSeconds(-1)), "cacheTtl", "PT-1S"),
                badBuilder("null cacheTtl", b -> b.cacheTtl(null), "cacheTtl", "null"),
                badBuilder("zero healthCheckInterval", b -> b.healthCheckInterval(Duration.ZERO),
                        "healthCheckInterval", "PT0S"),
                badBuilder("negative healthCheckInterval", b -> b.healthCheckInterval(Duration.ofMillis(-5)),
                        "healthCheckInterval", "PT-0.005S"),
                badBuilder("zero lockLeaseTime", b -> b.lockLeaseTime(Duration.ZERO), "lockLeaseTime", "PT0S"),
                badBuilder("sub-second lockLeaseTime", b -> b.lockLeaseTime(Duration.ofMillis(500)),
                        "lockLeaseTime", "PT0.5S"),
                badBuilder("negative operationTimeout", b -> b.operationTimeout(Duration.ofSeconds(-2)),
                        "operationTimeout", "PT-2S"),
                badBuilder("zero overQuotaScanInterval", b -> b.overQuotaScanInterval(Duration.ZERO),
                        "overQuotaScanInterval", "PT0S"),
                badBuilder("namespace without a leading slash", b -> b.namespace("woslo"), "'woslo'"),
                badBuilder("namespace with a trailing slash", b -> b.namespace("/woslo/"), "'/woslo/'"),
                badBuilder("namespace with an empty segment", b -> b.namespace("/a//b"), "'/a//b'"),
                badBuilder("namespace with a space", b -> b.namespace("/wo slo"), "'/wo slo'"),
                badBuilder("null namespace", b -> b.namespace(null), "namespace", "null"),
                badBuilder("null failureMode", b -> b.failureMode(null), "failureMode", "null"),
                badBuilder("null quotaEnabled", b -> b.quotaEnabled(null), "quotaEnabled", "null"),
                badBuilder("too many resources", b -> {
                    for (int i = 0; i <= QuotaManager.MAX_RESOURCES; i++) {
                        b.resource("R" + i, h);
                    }
                }, "'R100'", "100"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badBuilders")
    void invalidBuilderSettingsAreRefusedNamingTheValue(String name, Consumer<QuotaManager.Builder> setting,
                                                        String[] named) {
        QuotaManager.Builder builder = QuotaManager.builder(client);
        assertThatThrownBy(() -> setting.accept(builder))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageContainingAll(named);
    }

    private static Arguments bad(String name, Call call, String... named) {
        return Arguments.of(name, call, named);
    }

    private static Arguments badBuilder(String name, Consumer<QuotaManager.Builder> setting, String... named) {
        return Arguments.of(name, setting, named);
    }

    /** One call on a manager; its result, if any, is not looked at. */
    @FunctionalInterface
    interface Call {
        void on(QuotaManager quota);
    }
}
