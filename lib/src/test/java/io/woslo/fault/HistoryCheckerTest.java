package io.woslo.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.fault.History.Op;
import io.woslo.fault.History.Outcome;
import io.woslo.fault.History.Type;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The checker on hand-made histories: each invariant passes on a correct history and fails on one that breaks it,
 * so a green randomized run means something. Times are in milliseconds from 0.
 */
class HistoryCheckerTest {
    private static final long QUOTA = 10;
    private static final long LEASE = Duration.ofSeconds(3).toNanos();

    private final History h = new History();
    private final HistoryChecker checker = new HistoryChecker(QUOTA, Duration.ofSeconds(3), Duration.ofSeconds(1),
            Duration.ofMillis(500)).start("a", "CPU", 2).start("a", "GPU", 2);

    private static long ms(long millis) {
        return 1_000_000_000_000L + millis * 1_000_000L;
    }

    private Op op(Type type, long from, long to, Outcome outcome, Object... amounts) {
        Op op = h.add("c1", type, "a", History.amounts(amounts), ms(from));
        if (outcome != Outcome.PENDING) {
            h.end(op, outcome, "", ms(to));
        }
        return op;
    }

    private Op hold(String key, boolean write, long token, long invoke, long granted, long released) {
        Op op = h.add("c1", Type.LOCK, key, Map.of(), ms(invoke));
        h.granted(op, write, token, LEASE, ms(granted));
        h.releasing(op, ms(released));
        return op;
    }

    private void finalRead(long cpu, long gpu) {
        h.read("checker", Type.FINAL, "a", Map.of("CPU", cpu, "GPU", gpu), ms(100_000), ms(100_001));
    }

    private HistoryChecker.Result check(String... leftovers) {
        return checker.check(h.ops(), List.of(leftovers));
    }

    @Test
    void aCorrectHistoryPasses() {
        op(Type.RESERVE, 0, 10, Outcome.OK, "CPU", 3, "GPU", 1);
        op(Type.RESERVATION_ROLLBACK, 20, 30, Outcome.OK, "CPU", -3, "GPU", -1);
        op(Type.RESERVE, 40, 50, Outcome.UNKNOWN, "CPU", 2);
        op(Type.CLEAN, 60, 70, Outcome.FAIL, "GPU", -1);
        h.read("sampler", Type.SAMPLE, "a", Map.of("CPU", 4L, "GPU", 2L), ms(80), ms(81));
        hold("k", true, 5, 0, 1, 100);
        hold("k", false, 7, 50, 101, 200);
        hold("k", false, 8, 60, 150, 250);
        hold("k", true, 9, 60, 251, 300);
        finalRead(4, 2);

        HistoryChecker.Result result = check();

        assertThat(result.violations()).isEmpty();
        assertThat(result.checks()).allSatisfy((name, verdict) -> assertThat(verdict).isEqualTo("PASS"));
    }

    @Test
    void aReservationFailedAsUnavailableMayBeSeenDuringTheRunButMustBeGivenBackByTheEnd() {
        Op failed = op(Type.RESERVE, 0, 10, Outcome.PENDING, "CPU", 3);
        h.end(failed, Outcome.FAIL, "QuotaUnavailableException: etcd could not serve a transaction", ms(10));
        h.read("sampler", Type.SAMPLE, "a", Map.of("CPU", 5L, "GPU", 2L), ms(5), ms(6)); // landed, not yet given back
        finalRead(2, 2);
        assertThat(check().violations()).isEmpty();
    }

    @Test
    void aReservationFailedAsUnavailableThatStaysOnTheCounterIsCaught() {
        Op failed = op(Type.RESERVE, 0, 10, Outcome.PENDING, "CPU", 3);
        h.end(failed, Outcome.FAIL, "QuotaUnavailableException: etcd could not serve a transaction", ms(10));
        finalRead(5, 2);
        assertThat(check().invariantsBroken()).contains("counter-explained");
    }

    @Test
    void aReservationRefusedAsExceededIsNeverSeen() {
        Op refused = op(Type.RESERVE, 0, 10, Outcome.PENDING, "CPU", 3);
        h.end(refused, Outcome.FAIL, "QuotaExceededException", ms(10));
        h.read("sampler", Type.SAMPLE, "a", Map.of("CPU", 5L, "GPU", 2L), ms(5), ms(6));
        finalRead(2, 2);
        assertThat(check().invariantsBroken()).contains("counter-explained");
    }

    @Test
    void overlappingWriteHoldsBreakExclusion() {
        hold("k", true, 5, 0, 10, 200);
        hold("k", false, 6, 5, 150, 300); // granted while the writer still held it

        assertThat(check().invariantsBroken()).containsExactly("lock-exclusion");
    }

    @Test
    void aHoldThatMayHaveOutlivedItsLeaseIsNotAnOverlap() {
        hold("k", true, 5, 0, 10, 4_000); // paused past its 3 s lease
        hold("k", true, 6, 100, 3_500, 3_600);

        HistoryChecker.Result result = check();

        assertThat(result.violations()).isEmpty();
        assertThat(result.notes()).anyMatch(n -> n.contains("outlived their lease"));
    }

    @Test
    void aLowerTokenAfterAReleaseBreaksFencing() {
        hold("k", true, 9, 0, 10, 20);
        hold("k", true, 8, 30, 40, 50);

        assertThat(check().invariantsBroken()).containsExactly("fencing-order");
    }

    @Test
    void aSampleAboveQuotaIsOverQuota() {
        op(Type.RESERVE, 0, 10, Outcome.OK, "CPU", 9);
        h.read("sampler", Type.SAMPLE, "a", Map.of("CPU", 11L), ms(20), ms(21));
        finalRead(11, 2);

        assertThat(check().invariantsBroken()).contains("over-quota");
    }

    @Test
    void aLostUpdateIsUnexplained() {
        op(Type.RESERVE, 0, 10, Outcome.OK, "CPU", 3);
        op(Type.RESERVE, 20, 30, Outcome.OK, "CPU", 2);
        finalRead(5, 2); // 2 + 3 + 2 = 7

        HistoryChecker.Result result = check();

        assertThat(result.invariantsBroken()).containsExactly("counter-explained");
        assertThat(result.violations().get(0).message()).contains("allows only [7, 7]");
    }

    @Test
    void unknownOutcomesAreMaybesButNoMore() {
        op(Type.RESERVE, 0, 10, Outcome.UNKNOWN, "CPU", 3);
        op(Type.CLEAN, 20, 30, Outcome.UNKNOWN, "CPU", -1);
        finalRead(4, 2); // 2 + 3 - 1: both landed
        assertThat(check().violations()).isEmpty();

        History.Op doubled = op(Type.RESERVE, 40, 50, Outcome.UNKNOWN, "GPU", 3);
        h.read("checker", Type.FINAL, "a", Map.of("CPU", 4L, "GPU", 8L), ms(100_002), ms(100_003));
        assertThat(check().invariantsBroken()).as("applied twice: %s", doubled).containsExactly("counter-explained");
    }

    @Test
    void anInterruptedCallMustGiveBackWhatLanded() {
        op(Type.RESERVE, 0, 10, Outcome.INTERRUPTED, "CPU", 3);
        finalRead(5, 2); // the interrupted reservation stayed on the counter: a leak

        assertThat(check().invariantsBroken()).containsExactly("counter-explained");
    }

    @Test
    void anInterruptedCallMayLandAfterARefreshButMustBeGivenBackByTheEnd() {
        op(Type.RESERVE, 0, 10, Outcome.INTERRUPTED, "CPU", 3);
        Op refresh = op(Type.REFRESH, 20, 40, Outcome.PENDING);
        h.read("handler", Type.HANDLER_READ, "a", Map.of("CPU", 2L, "GPU", 2L), ms(25), ms(25));
        h.end(refresh, Outcome.OK, "", ms(40));
        refresh.refreshed = Set.of("CPU", "GPU");
        h.read("sampler", Type.SAMPLE, "a", Map.of("CPU", 5L, "GPU", 2L), ms(50), ms(51)); // landed late
        finalRead(2, 2); // and given back
        assertThat(check().violations()).isEmpty();

        h.read("checker", Type.FINAL, "a", Map.of("CPU", 5L, "GPU", 2L), ms(100_002), ms(100_003));
        assertThat(check().invariantsBroken()).as("still there at the end: leaked").contains("counter-explained");
    }

    @Test
    void aSlowRefreshThatOverwritesAReservationIsCaught() {
        // The refresh read 2 at 10 ms and wrote it when it returned at 4000 ms, after a reservation of 3 that
        // started at 3000 ms (the refresh's write lock had lapsed) and returned at 3100 ms.
        Op refresh = op(Type.REFRESH, 0, 4_000, Outcome.PENDING);
        h.read("handler", Type.HANDLER_READ, "a", Map.of("CPU", 2L), ms(10), ms(10));
        h.end(refresh, Outcome.OK, "", ms(4_000));
        refresh.refreshed = Set.of("CPU");
        op(Type.RESERVE, 3_000, 3_100, Outcome.OK, "CPU", 3);
        finalRead(2, 2);

        assertThat(check().invariantsBroken()).containsExactly("counter-explained");
    }

    @Test
    void aRefreshResetsTheCounterToTheTruth() {
        op(Type.RESERVE, 0, 10, Outcome.UNKNOWN, "CPU", 3); // landed: counter 5, truth 2
        Op refresh = op(Type.REFRESH, 20, 40, Outcome.PENDING);
        h.read("handler", Type.HANDLER_READ, "a", Map.of("CPU", 2L, "GPU", 2L), ms(25), ms(25));
        h.end(refresh, Outcome.OK, "", ms(40));
        refresh.refreshed = Set.of("CPU", "GPU");
        op(Type.RESERVE, 50, 60, Outcome.OK, "CPU", 1);
        finalRead(3, 2);

        assertThat(check().violations()).isEmpty();
    }

    @Test
    void aHalfAppliedMultiResourceReservationBreaksAllOrNothing() {
        op(Type.RESERVE, 0, 10, Outcome.UNKNOWN, "CPU", 3, "GPU", 3);
        finalRead(5, 2); // CPU moved, GPU did not

        assertThat(check().invariantsBroken()).containsExactly("all-or-nothing");
    }

    @Test
    void anExceededWithAFigureTheCounterNeverHadIsFalse() {
        op(Type.RESERVE, 0, 10, Outcome.OK, "CPU", 3);
        op(Type.RESERVATION_ROLLBACK, 20, 30, Outcome.OK, "CPU", -3);
        Op refused = op(Type.RESERVE, 40, 50, Outcome.PENDING, "CPU", 6);
        h.exceeded(refused, "CPU", 5, 6, QUOTA, ms(50)); // the counter was 2 by then: a stale view
        finalRead(2, 2);

        assertThat(check().invariantsBroken()).containsExactly("exceeded-consistent");
    }

    @Test
    void aCallPastItsBoundOrNeverReturningIsUnbounded() {
        op(Type.CLEAN, 0, 5_000, Outcome.FAIL, "CPU", -1); // 3 s timeout + 1 s slack
        op(Type.RESERVE, 10, 0, Outcome.PENDING, "CPU", 1);
        finalRead(2, 2);

        HistoryChecker.Result result = check();

        assertThat(result.invariantsBroken()).contains("bounded-call");
        assertThat(result.violations()).filteredOn(v -> v.invariant().equals("bounded-call")).hasSize(2);
    }

    @Test
    void keysLeftInEtcdAreLeftBehind() {
        finalRead(2, 2);

        assertThat(check("/ns/locks/quota%2Fa/00001").invariantsBroken()).containsExactly("left-behind");
    }
}
