package io.woslo.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One scenario at one in-flight level: each figure is the median over the repetitions (taken figure by figure).
 *
 * @param retriesPerOp null when the scenario does not count retries
 * @param cpuMillisPerOp CPU time of the benchmark, the coordinators and etcd together per successful operation
 * @param coresBusy    that CPU time over the window's length: near the core count, the cell is bounded by CPU
 * @param errors       failed operations over all repetitions
 * @param firstError   the first failure seen, or null
 * @param repetitions  the single windows, for the JSON
 */
record CellResult(String scenario, int inFlight, double opsPerSecond, double p50Millis, double p99Millis,
                  Double retriesPerOp, double cpuMillisPerOp, double coresBusy, long errors, String firstError,
                  List<Repetition> repetitions) {

    private static final double P50 = 0.50;
    private static final double P99 = 0.99;

    /** One measured window. */
    record Repetition(double opsPerSecond, double p50Millis, double p99Millis, long succeeded, long errors,
                      double retriesPerOp, double cpuMillisPerOp, double coresBusy, boolean drained) {
        static Repetition of(ClosedLoop.Result r, long cpuNanos) {
            long[] sorted = r.sortedLatencyNanos();
            return new Repetition(r.opsPerSecond(), Statistics.percentileMillis(sorted, P50),
                    Statistics.percentileMillis(sorted, P99), r.succeeded(), r.errors(),
                    Statistics.retriesPerOp(r.retries(), r.succeeded()),
                    Statistics.cpuMillisPerOp(cpuNanos, r.succeeded()),
                    Statistics.coresBusy(cpuNanos, r.windowSeconds()), r.drained());
        }
    }

    static CellResult of(Scenario scenario, int inFlight, List<ClosedLoop.Result> results, List<Long> cpuNanos) {
        List<Repetition> reps = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            reps.add(Repetition.of(results.get(i), cpuNanos.get(i)));
        }
        long errors = results.stream().mapToLong(ClosedLoop.Result::errors).sum();
        String firstError = results.stream().map(ClosedLoop.Result::firstError).filter(Objects::nonNull)
                .findFirst().orElse(null);
        return new CellResult(scenario.name(), inFlight,
                median(reps.stream().mapToDouble(Repetition::opsPerSecond).toArray()),
                median(reps.stream().mapToDouble(Repetition::p50Millis).toArray()),
                median(reps.stream().mapToDouble(Repetition::p99Millis).toArray()),
                scenario.countsRetries() ? median(reps.stream().mapToDouble(Repetition::retriesPerOp).toArray()) : null,
                median(reps.stream().mapToDouble(Repetition::cpuMillisPerOp).toArray()),
                median(reps.stream().mapToDouble(Repetition::coresBusy).toArray()),
                errors, firstError, List.copyOf(reps));
    }

    /** A cell that could not be measured (its set-up failed). */
    static CellResult failed(Scenario scenario, int inFlight, String why) {
        return new CellResult(scenario.name(), inFlight, Double.NaN, Double.NaN, Double.NaN, null, Double.NaN,
                Double.NaN, 0, why, List.of());
    }

    private static double median(double[] values) {
        return Statistics.median(values);
    }
}
