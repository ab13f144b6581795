package io.woslo.quota;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.woslo.testing.MutableClock;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * {@link QuotaManager#dryRun}: the answer {@code prepareOccupying} would give, with the same figures, and not one
 * key under the namespace written or rewritten (values and mod revisions compared with a raw etcd read).
 */
@WithEtcd
class DryRunIT extends QuotaItSupport {

    @Test
    void aRequirementThatFitsReturnsAndChangesNothing(Client client) {
        QuotaManager quota = seedManager(client);
        quota.refresh(account, true);
        Map<String, String> before = everyKey(client);

        quota.dryRun(account, Map.of("CPUA", 10L, "CPUB", 20L, "CPUC", 2L));
        quota.dryRun(account, Map.of("CPUD", 0L)); // 0 is ignored, as by a reservation

        assertThat(everyKey(client)).isEqualTo(before);
        assertThat(raw.locks()).isEmpty();
    }

    @Test
    void aRefusalNamesTheFirstShortResourceInRequirementOrderWithTheFiguresARealCallGives(Client client) {
        QuotaManager quota = seedManager(client);
        quota.refresh(account, true);
        Map<String, Long> requirement = new LinkedHashMap<>();
        requirement.put("CPUB", 1L);   // fits
        requirement.put("CPUC", 3L);   // short: 18 of 20
        requirement.put("CPUA", 11L);  // short too, but later
        Map<String, String> before = everyKey(client);

        QuotaExceededException dry = exceeded(() -> quota.dryRun(account, requirement));

        assertThat(everyKey(client)).as("nothing written by the dry run").isEqualTo(before);
        assertThat(figures(dry)).isEqualTo("CPUC requested 3 used 18 quota 20");
        QuotaExceededException real = exceeded(() -> quota.prepareOccupying(account, requirement));
        assertThat(figures(dry)).isEqualTo(figures(real));
        assertThat(dry.getMessage()).isEqualTo(real.getMessage());
    }

    @Test
    void reservationsInFlightCountAsARealCallCountsThem(Client client) throws Exception {
        QuotaManager quota = seedManager(client);
        try (Reservation open = quota.prepareOccupying(account, Map.of("CPUA", 5L))) {
            Map<String, String> before = everyKey(client);

            quota.dryRun(account, Map.of("CPUA", 5L));
            QuotaExceededException dry = exceeded(() -> quota.dryRun(account, Map.of("CPUA", 6L)));

            assertThat(figures(dry)).isEqualTo("CPUA requested 6 used 15 quota 20");
            assertThat(everyKey(client)).isEqualTo(before);
            assertThat(open.amounts()).isEqualTo(Map.of("CPUA", 5L));
        }
    }

    @Test
    void aMissingCounterIsJudgedOnTheHandlersFiguresAndIsNotCreated(Client client) {
        QuotaManager quota = manager(client, new FixedHandler(17, 20));

        quota.dryRun(account, Map.of("CPUA", 3L));
        QuotaExceededException dry = exceeded(() -> quota.dryRun(account, Map.of("CPUA", 4L)));

        assertThat(figures(dry)).isEqualTo("CPUA requested 4 used 17 quota 20");
        assertThat(everyKey(client)).as("no counter, index or lock key").isEmpty();
        QuotaExceededException real = exceeded(() -> quota.prepareOccupying(account, Map.of("CPUA", 4L)));
        assertThat(figures(real)).isEqualTo(figures(dry));
    }

    @Test
    void theQuotaComesFromTheHandlerAndAFreshCounterFromEtcd(Client client) {
        MutableHandler cpu = new MutableHandler(10, 20);
        QuotaManager quota = manager(client, cpu);
        quota.refresh(account, true);
        cpu.used.set(19);   // the source of truth moved; the counter is fresh, so its 10 counts
        cpu.quota.set(12);  // quotas are always asked of the handler

        QuotaExceededException dry = exceeded(() -> quota.dryRun(account, Map.of("CPUA", 3L)));

        assertThat(figures(dry)).isEqualTo("CPUA requested 3 used 10 quota 12");
        quota.dryRun(account, Map.of("CPUA", 2L));
    }

    @Test
    void aStaleCounterIsJudgedOnTheHandlersFiguresAsTheRefreshOfARealCallWouldGiveThem(Client client) {
        MutableHandler cpu = new MutableHandler(10, 20);
        MutableClock clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.MILLIS));
        QuotaManager quota = closeLater(QuotaManager.builder(client).namespace(namespace).resource("CPUA", cpu)
                .clock(clock).cacheTtl(Duration.ofMinutes(1)).build());
        quota.refresh(account, true);
        cpu.used.set(19);
        clock.advance(Duration.ofMinutes(2));
        Map<String, String> before = everyKey(client);

        QuotaExceededException dry = exceeded(() -> quota.dryRun(account, Map.of("CPUA", 2L)));
        quota.dryRun(account, Map.of("CPUA", 1L));

        assertThat(figures(dry)).isEqualTo("CPUA requested 2 used 19 quota 20");
        assertThat(everyKey(client)).as("the stale counter is not refreshed by a dry run").isEqualTo(before);
        QuotaExceededException real = exceeded(() -> quota.prepareOccupying(account, Map.of("CPUA", 2L)));
        assertThat(figures(real)).as("the real call refreshed, then refused alike").isEqualTo(figures(dry));
    }

    @Test
    void quotaOffOrNothingAskedReturnsAndWritesNothing(Client client) {
        QuotaManager quota = closeLater(QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", new FixedHandler(20, 20))
                .quotaEnabled(name -> !name.equals("free")).build());

        quota.dryRun("free", Map.of("CPUA", 100L));
        quota.dryRun(account, Map.of());
        quota.dryRun(account, Map.of("CPUA", 0L));

        assertThat(everyKey(client)).isEmpty();
    }

    @Test
    void badInputIsRefusedAtOnceAsByPrepareOccupying(Client client) {
        QuotaManager quota = seedManager(client);
        Map<String, Long> nullAmount = new HashMap<>();
        nullAmount.put("CPUA", null);
        Map<String, Map<String, Long>> requirements = new LinkedHashMap<>();
        requirements.put("unknown resource 'NOPE'", Map.of("NOPE", 1L));
        requirements.put("negative amount for resource 'CPUA': -1", Map.of("CPUA", -1L));
        requirements.put("no amount for resource 'CPUA'", nullAmount);
        requirements.put("requirement must not be null", null);

        requirements.forEach((named, requirement) -> {
            assertSameRefusal(quota, named, q -> q.dryRun(account, requirement),
                    q -> q.prepareOccupying(account, requirement));
            assertThatThrownBy(() -> quota.dryRunAsync(account, requirement))
                    .as("the async twin throws at once").isInstanceOf(IllegalArgumentException.class);
        });
        assertSameRefusal(quota, "account must not be null", q -> q.dryRun(null, Map.of("CPUA", 1L)),
                q -> q.prepareOccupying(null, Map.of("CPUA", 1L)));
        assertSameRefusal(quota, "account must not be empty", q -> q.dryRun("", Map.of("CPUA", 1L)),
                q -> q.prepareOccupying("", Map.of("CPUA", 1L)));
        assertThat(everyKey(client)).isEmpty();
    }

    @Test
    void anUnreachableEtcdIsQuotaUnavailableWithinTheOperationTimeout() throws Exception {
        int deadPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            deadPort = socket.getLocalPort();
        }
        Client nowhere = closeLater(Client.builder().endpoints("http://127.0.0.1:" + deadPort).build());
        QuotaManager quota = closeLater(QuotaManager.builder(nowhere).namespace(namespace)
                .resource("CPUA", new FixedHandler(0, 20)).operationTimeout(Duration.ofSeconds(1)).build());

        long start = System.nanoTime();
        assertThatThrownBy(() -> quota.dryRun(account, Map.of("CPUA", 1L)))
                .isInstanceOf(QuotaUnavailableException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start))
                .isLessThan(Duration.ofSeconds(1).plus(TestTimeouts.step()));
    }

    // -----------------------------------------------------------------------------------------------------------

    /** The seed's four resources: CPUA 10 of 20, CPUB 0 of 20, CPUC 18 of 20, CPUD 20 of 20. */
    private QuotaManager seedManager(Client client) {
        return closeLater(QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", new FixedHandler(10, 20))
                .resource("CPUB", new FixedHandler(0, 20))
                .resource("CPUC", new FixedHandler(18, 20))
                .resource("CPUD", new FixedHandler(20, 20))
                .build());
    }

    private static QuotaExceededException exceeded(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        return catchThrowableOfType(QuotaExceededException.class, call);
    }

    private static String figures(QuotaExceededException e) {
        assertThat(e).as("a QuotaExceededException").isNotNull();
        return e.resource() + " requested " + e.requested() + " used " + e.used() + " quota " + e.quota();
    }

    private static void assertSameRefusal(QuotaManager quota, String named, Consumer<QuotaManager> dryRun,
                                          Consumer<QuotaManager> real) {
        IllegalArgumentException dry = catchThrowableOfType(IllegalArgumentException.class,
                () -> dryRun.accept(quota));
        IllegalArgumentException expected = catchThrowableOfType(IllegalArgumentException.class,
                () -> real.accept(quota));
        assertThat(dry).as("dry run refusal of " + named).isNotNull();
        assertThat(dry.getMessage()).contains(named).isEqualTo(expected.getMessage());
    }

    /** Every key under the test's namespace with its value and mod revision, read with plain jetcd. */
    private Map<String, String> everyKey(Client client) {
        try {
            Map<String, String> out = new TreeMap<>();
            client.getKVClient()
                    .get(ByteSequence.from(namespace + "/", UTF_8), GetOption.builder().isPrefix(true).build())
                    .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getKvs()
                    .forEach(kv -> out.put(kv.getKey().toString(UTF_8),
                            kv.getValue().toString(UTF_8) + " @" + kv.getModRevision()));
            return out;
        } catch (Exception e) {
            throw new AssertionError("cannot read the namespace " + namespace, e);
        }
    }
}
