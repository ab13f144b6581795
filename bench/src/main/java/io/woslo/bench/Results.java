package io.woslo.bench;

import java.util.List;
import java.util.Optional;

/** All cells of one run, looked up by scenario and in-flight level. */
record Results(List<CellResult> cells) {
    /** What every throughput is divided by in the "× etcd-put" column. */
    static final String CEILING = ScenarioNames.ETCD_PUT;

    Optional<CellResult> cell(String scenario, int inFlight) {
        return cells.stream().filter(c -> c.scenario().equals(scenario) && c.inFlight() == inFlight).findFirst();
    }

    /** Throughput of {@code scenario} divided by that of {@code base}, both at {@code inFlight}; NaN if missing. */
    double throughputRatio(String scenario, String base, int inFlight) {
        double num = cell(scenario, inFlight).map(CellResult::opsPerSecond).orElse(Double.NaN);
        double den = cell(base, inFlight).map(CellResult::opsPerSecond).orElse(Double.NaN);
        return Statistics.ratio(num, den);
    }

    /** p50 latency of {@code scenario} divided by that of {@code base}, both at {@code inFlight}; NaN if missing. */
    double p50Ratio(String scenario, String base, int inFlight) {
        double num = cell(scenario, inFlight).map(CellResult::p50Millis).orElse(Double.NaN);
        double den = cell(base, inFlight).map(CellResult::p50Millis).orElse(Double.NaN);
        return Statistics.ratio(num, den);
    }
}
