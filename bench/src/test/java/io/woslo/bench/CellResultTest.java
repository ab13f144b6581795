package io.woslo.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class CellResultTest {
    private static final long MS = 1_000_000;
    private static final Scenario COUNTING = new Scenario("reserve-hot", "", true, inFlight -> null);
    private static final Scenario NOT_COUNTING = new Scenario("etcd-put", "", false, inFlight -> null);

    /** A window of {@code n} successes of 1..n ms, {@code inWindow} of them completed inside 0.5 s. */
    private static ClosedLoop.Result window(int n, long inWindow, long retries, long errors, String firstError) {
        long[] latencies = LongStream.rangeClosed(1, n).map(i -> i * MS).toArray();
        return new ClosedLoop.Result(inWindow, errors, retries, 0.5, latencies, true, firstError);
    }

    @Test
    void throughputCountsOperationsCompletedInsideTheWindowOverItsLength() {
        ClosedLoop.Result result = window(100, 80, 0, 0, null);
        assertThat(result.opsPerSecond()).isEqualTo(160.0);
        assertThat(result.succeeded()).as("every success, drained ones included").isEqualTo(100);
    }

    @Test
    void aRepetitionHasNearestRankPercentilesAndCostsPerSuccessfulOperation() {
        CellResult.Repetition rep = CellResult.Repetition.of(window(100, 80, 25, 2, "boom"), 400 * MS);
        assertThat(rep.opsPerSecond()).isEqualTo(160.0);
        assertThat(rep.p50Millis()).isEqualTo(50.0);
        assertThat(rep.p99Millis()).isEqualTo(99.0);
        assertThat(rep.retriesPerOp()).isEqualTo(0.25);
        assertThat(rep.cpuMillisPerOp()).isEqualTo(4.0);
        assertThat(rep.coresBusy()).isCloseTo(0.8, within(1e-9));
        assertThat(rep.succeeded()).isEqualTo(100);
        assertThat(rep.errors()).isEqualTo(2);
    }

    @Test
    void eachFigureOfACellIsTheMedianOfThatFigureOverTheRepetitions() {
        List<ClosedLoop.Result> windows = List.of(window(10, 10, 0, 0, null), window(100, 50, 50, 1, "first"),
                window(40, 20, 40, 3, "second"));
        CellResult cell = CellResult.of(COUNTING, 16, windows, List.of(10 * MS, 50 * MS, 0L));

        assertThat(cell.scenario()).isEqualTo("reserve-hot");
        assertThat(cell.inFlight()).isEqualTo(16);
        assertThat(cell.opsPerSecond()).as("median of 20, 100, 40").isEqualTo(40.0);
        assertThat(cell.p50Millis()).as("median of 5, 50, 20").isEqualTo(20.0);
        assertThat(cell.p99Millis()).as("median of 10, 99, 40").isEqualTo(40.0);
        assertThat(cell.retriesPerOp()).as("median of 0, 0.5, 1").isEqualTo(0.5);
        assertThat(cell.cpuMillisPerOp()).as("median of 1 and 0.5; the window without CPU time is left out")
                .isEqualTo(0.75);
        assertThat(cell.errors()).as("summed, not a median").isEqualTo(4);
        assertThat(cell.firstError()).isEqualTo("first");
        assertThat(cell.repetitions()).hasSize(3);
    }

    @Test
    void aScenarioThatDoesNotCountRetriesHasNoRetryFigure() {
        CellResult cell = CellResult.of(NOT_COUNTING, 1, List.of(window(10, 10, 0, 0, null)), List.of(MS));
        assertThat(cell.retriesPerOp()).isNull();
    }

    @Test
    void aCellThatCouldNotRunHasNoFigures() {
        CellResult cell = CellResult.failed(COUNTING, 64, "set-up failed: x");
        assertThat(cell.opsPerSecond()).isNaN();
        assertThat(cell.p50Millis()).isNaN();
        assertThat(cell.firstError()).isEqualTo("set-up failed: x");
    }

    @Test
    void theRecorderKeepsEveryLatencyAndSortsThem() {
        LatencyRecorder recorder = new LatencyRecorder();
        for (long i = 10_000; i > 0; i--) {
            recorder.record(i);
        }
        long[] sorted = recorder.sorted();
        assertThat(sorted).hasSize(10_000).isSorted();
        assertThat(sorted[0]).isEqualTo(1);
        assertThat(sorted[9_999]).isEqualTo(10_000);
    }
}
