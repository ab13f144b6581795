package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.woslo.internal.Counter;
import io.woslo.internal.VersionedCounter;
import io.woslo.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The quota rule, the reserve and release plans and staleness, on counters given by hand. No etcd needed. */
class QuotaArithmeticTest {
    private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
    private final MutableClock clock = new MutableClock(NOW);
    private final QuotaArithmetic arithmetic = new QuotaArithmetic(clock, Duration.ofMinutes(3));

    private static VersionedCounter at(long used, long quota, long refreshedAt) {
        return new VersionedCounter(new Counter(used, quota, refreshedAt), 7);
    }

    @ParameterizedTest(name = "{0} more on {1} of {2}: exceeds = {3}")
    @CsvSource({
            "0, 20, 20, false",
            "1, 19, 20, false",
            "2, 19, 20, true",
            "1, 20, 20, true",
            "1, 25, 20, true",            // already over quota (a refresh found more used than allowed)
            "9223372036854775807, 0, 9223372036854775807, false",
            "9223372036854775807, 1, 9223372036854775807, true",   // used + amount would overflow
            "1, 9223372036854775807, 9223372036854775807, true",
            "9223372036854775807, 5, 10, true",
            "1, 0, 0, true",
            "0, 0, 0, false"})
    void theQuotaRuleNeverOverflows(long amount, long used, long quota, boolean exceeds) {
        assertThat(QuotaArithmetic.exceeds(amount, used, quota)).isEqualTo(exceeds);
    }

    @Test
    void aNegativeQuotaRefusesEverything() {
        assertThat(QuotaArithmetic.exceeds(1, 0, -1)).isTrue();
        assertThat(QuotaArithmetic.exceeds(0, 0, -1)).isTrue();
    }

    @Test
    void reservePlanAddsEveryAmountAndKeepsRefreshTimes() {
        Map<String, Counter> plan = arithmetic.reservePlan("a", ordered("CPU", 2L, "GPU", 1L),
                Map.of("CPU", 10L, "GPU", 4L), Map.of(), Map.of("CPU", at(3, 10, 100), "GPU", at(3, 4, 200)));

        assertThat(plan).containsExactly(Map.entry("CPU", new Counter(5, 10, 100)),
                Map.entry("GPU", new Counter(4, 4, 200)));
    }

    @Test
    void reservePlanRefusesTheFirstShortResourceWithItsFigures() {
        assertThatThrownBy(() -> arithmetic.reservePlan("a", ordered("CPU", 2L, "GPU", 2L, "DISK", 99L),
                Map.of("CPU", 10L, "GPU", 4L, "DISK", 1L), Map.of(),
                Map.of("CPU", at(3, 10, 0), "GPU", at(3, 4, 0), "DISK", at(0, 1, 0))))
                .isInstanceOfSatisfying(QuotaExceededException.class, e -> {
                    assertThat(e.resource()).isEqualTo("GPU");
                    assertThat(e.requested()).isEqualTo(2);
                    assertThat(e.used()).isEqualTo(3);
                    assertThat(e.quota()).isEqualTo(4);
                });
    }

    @Test
    void reservePlanChecksAgainstTheHandlersQuotaNotTheCachedOne() {
        Map<String, Counter> plan = arithmetic.reservePlan("a", Map.of("CPU", 5L), Map.of("CPU", 8L), Map.of(),
                Map.of("CPU", at(3, 4, 0)));

        assertThat(plan.get("CPU")).isEqualTo(new Counter(8, 8, 0));
    }

    @Test
    void reservePlanCreatesAMissingCounterFromItsHandlersUsed() {
        Map<String, Counter> plan = arithmetic.reservePlan("a", Map.of("CPU", 1L), Map.of("CPU", 10L),
                Map.of("CPU", 4L), Map.of("CPU", VersionedCounter.MISSING));

        assertThat(plan.get("CPU")).isEqualTo(new Counter(5, 10, NOW.toEpochMilli()));
    }

    @Test
    void reservePlanOnACounterThatVanishedSinceTheReadIsRetried() {
        assertThatThrownBy(() -> arithmetic.reservePlan("a", Map.of("CPU", 1L), Map.of("CPU", 10L), Map.of(),
                Map.of("CPU", VersionedCounter.MISSING)))
                .isInstanceOf(io.woslo.internal.EtcdUnavailableException.class)
                .hasMessageContaining("CPU");
    }

    @Test
    void aBatchIsPlannedInArrivalOrderEachRequestAllOrNothing() {
        Map<String, Counter> working = new LinkedHashMap<>(Map.of("CPU", new Counter(0, 5, 9), "GPU",
                new Counter(0, 1, 9)));
        List<Map<String, Long>> batch = List.of(Map.of("CPU", 3L), ordered("CPU", 1L, "GPU", 2L),
                Map.of("CPU", 2L), Map.of("CPU", 1L));

        QuotaArithmetic.Planned<Map<String, Long>> planned = QuotaArithmetic.planBatch("a", batch, r -> r, working,
                Map.of("CPU", 5L, "GPU", 1L));

        assertThat(planned.fits()).containsExactly(batch.get(0), batch.get(2));
        assertThat(planned.refused()).containsOnlyKeys(batch.get(1), batch.get(3));
        assertThat(planned.refused().get(batch.get(1)).resource()).isEqualTo("GPU");
        assertThat(planned.refused().get(batch.get(3)).used()).isEqualTo(5);
        assertThat(working).containsEntry("CPU", new Counter(5, 5, 9)).containsEntry("GPU", new Counter(0, 1, 9));
    }

    @Test
    void theDryRunJudgesOnHandlerFiguresWhereGiven() {
        Map<String, VersionedCounter> cached = Map.of("CPU", at(9, 10, 0), "GPU", at(0, 10, 0));

        QuotaArithmetic.checkFits("a", Map.of("CPU", 5L), Map.of("CPU", 10L), Map.of("CPU", 5L), cached);
        assertThatThrownBy(() -> QuotaArithmetic.checkFits("a", Map.of("CPU", 5L), Map.of("CPU", 10L), Map.of(),
                cached)).isInstanceOfSatisfying(QuotaExceededException.class, e -> assertThat(e.used()).isEqualTo(9));
    }

    @Test
    void releaseLowersAllOrNothingAndRefusesGoingBelowZero() {
        Map<String, VersionedCounter> current = Map.of("CPU", at(3, 10, 0), "GPU", at(1, 10, 0));

        assertThat(arithmetic.lowerPlan("a", Map.of("CPU", 3L, "GPU", 1L), current))
                .containsEntry("CPU", new Counter(0, 10, 0)).containsEntry("GPU", new Counter(0, 10, 0));
        assertThatThrownBy(() -> arithmetic.lowerPlan("a", ordered("CPU", 1L, "GPU", 2L), current))
                .isInstanceOfSatisfying(QuotaAbnormalException.class, e -> {
                    assertThat(e.used()).isEqualTo(1);
                    assertThat(e.released()).isEqualTo(2);
                });
    }

    @Test
    void releaseSkipsCountersRefreshedAfterTheErrorTime() {
        Map<String, VersionedCounter> current = Map.of("CPU", at(3, 10, 500), "GPU", at(3, 10, 1500));

        assertThat(arithmetic.releasePlan("a", Map.of("CPU", 1L, "GPU", 1L), current, 1000, Map.of()))
                .containsOnlyKeys("CPU");
    }

    @Test
    void releaseOfAMissingCounterTakesTheHandlersFiguresOrSkipsOrFails() {
        Map<String, VersionedCounter> missing = Map.of("CPU", VersionedCounter.MISSING);

        assertThat(arithmetic.releasePlan("a", Map.of("CPU", 1L), missing, Long.MAX_VALUE,
                Map.of("CPU", new long[] {2, 10}))).containsEntry("CPU", new Counter(2, 10, NOW.toEpochMilli()));
        assertThat(arithmetic.lowerPlan("a", Map.of("CPU", 1L), missing)).isEmpty();
        assertThatThrownBy(() -> arithmetic.releasePlan("a", Map.of("CPU", 1L), missing, Long.MAX_VALUE,
                Map.of("CPU", "the handler is down"))).isInstanceOf(QuotaUnavailableException.class)
                .hasMessageContaining("the handler is down");
    }

    @Test
    void aCounterIsStaleOnceOlderThanTheCacheTtl() {
        long now = NOW.toEpochMilli();
        long ttl = Duration.ofMinutes(3).toMillis();

        assertThat(arithmetic.isStale(new Counter(0, 1, now - ttl))).isFalse();
        assertThat(arithmetic.isStale(new Counter(0, 1, now - ttl - 1))).isTrue();
        assertThat(arithmetic.stale(Map.of("OLD", at(0, 1, 0), "NEW", at(0, 1, now), "GONE",
                VersionedCounter.MISSING))).containsExactly("OLD");
        clock.advance(Duration.ofMinutes(4));
        assertThat(arithmetic.isStale(new Counter(0, 1, now))).isTrue();
    }

    @Test
    void aRefreshWithoutForceSkipsCountersRefreshedWithinTheDebounce() {
        long now = NOW.toEpochMilli();
        Map<String, VersionedCounter> current = Map.of("RECENT", at(0, 1, now - 999), "OLDER", at(0, 1, now - 1000),
                "MISSING", VersionedCounter.MISSING);
        List<String> all = List.of("RECENT", "OLDER", "MISSING");
        List<String> skipped = new ArrayList<>();

        assertThat(arithmetic.dueForRefresh(all, current, false, Duration.ofSeconds(1), skipped))
                .containsExactly("OLDER", "MISSING");
        assertThat(skipped).containsExactly("RECENT");
        assertThat(arithmetic.dueForRefresh(all, current, true, Duration.ofSeconds(1), new ArrayList<>()))
                .containsExactlyElementsOf(all);
    }

    private static Map<String, Long> ordered(Object... pairs) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            out.put((String) pairs[i], (Long) pairs[i + 1]);
        }
        return out;
    }
}
