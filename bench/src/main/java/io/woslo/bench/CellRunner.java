package io.woslo.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Measures one scenario at one in-flight level: compacts etcd, opens the scenario (fresh keys, accounts loaded),
 * warms it up briefly, runs the timed repetitions back to back, and closes it.
 */
final class CellRunner {
    private static final Logger LOG = LoggerFactory.getLogger(CellRunner.class);
    private final CpuMeter cpu;

    private final BenchEtcd etcd;
    private final Timing timing;

    CellRunner(BenchEtcd etcd, Timing timing, CpuMeter cpu) {
        this.cpu = cpu;
        this.etcd = etcd;
        this.timing = timing;
    }

    CellResult measure(Scenario scenario, int inFlight) throws InterruptedException {
        List<ClosedLoop.Result> results = new ArrayList<>();
        List<Long> cpuNanos = new ArrayList<>();
        try {
            etcd.compact();
            try (Workload workload = scenario.open(inFlight)) {
                run(workload, inFlight, timing.cellWarmUp(), scenario.name() + " warm-up");
                for (int rep = 0; rep < timing.repetitions(); rep++) {
                    long before = cpu.totalNanos();
                    results.add(run(workload, inFlight, timing.window(), scenario.name()));
                    cpuNanos.add(cpu.totalNanos() - before);
                }
            }
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            LOG.error("{} at {} in flight could not run: {}", scenario.name(), inFlight, e.toString(), e);
            return CellResult.failed(scenario, inFlight, "set-up failed: " + e);
        }
        CellResult cell = CellResult.of(scenario, inFlight, results, cpuNanos);
        LOG.info(String.format("%-22s %3d in flight: %8.0f ops/s  p50 %7.2f ms  p99 %8.2f ms  cpu %.3f ms/op"
                        + " (%.2f cores)%s", scenario.name(), inFlight, cell.opsPerSecond(), cell.p50Millis(),
                cell.p99Millis(), cell.cpuMillisPerOp(), cell.coresBusy(),
                cell.errors() > 0 ? "  errors " + cell.errors() + " (" + cell.firstError() + ")" : ""));
        return cell;
    }

    /** One closed-loop window; logs what went wrong in it. */
    ClosedLoop.Result run(Operation operation, int inFlight, Duration window, String what) throws InterruptedException {
        ClosedLoop.Result result = ClosedLoop.run(operation, inFlight, window, timing.maxOpsPerWindow(),
                timing.drainLimit());
        if (!result.drained()) {
            LOG.warn("{} at {} in flight: operations still running {} after the window; they overlap what follows",
                    what, inFlight, timing.drainLimit());
        }
        if (result.errors() > 0) {
            LOG.warn("{} at {} in flight: {} failed operations, first: {}", what, inFlight, result.errors(),
                    result.firstError());
        }
        return result;
    }
}
