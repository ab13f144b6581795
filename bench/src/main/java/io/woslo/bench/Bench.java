package io.woslo.bench;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The benchmark: every scenario side by side in one run against one etcd, at 1, 16 and 64 operations in
 * flight, each figure the median of 3 windows after a warm-up. Prints a Markdown table with each scenario's ratio
 * to {@code etcd-put} and the performance targets, and writes the same as JSON. Run it through
 * {@code scripts/bench.sh}.
 *
 * <p>Order: all scenarios at 1 in flight, then all at 16, then all at 64, so the figures that are compared with
 * each other are measured minutes apart at most.
 */
public final class Bench {
    private static final Logger LOG = LoggerFactory.getLogger(Bench.class);
    static final List<Integer> IN_FLIGHT = List.of(1, 16, 64);
    private static final int WARM_UP_IN_FLIGHT = 16;
    /** gRPC logs through java.util.logging; kept here so the level set on it is not lost to garbage collection. */
    private static final java.util.logging.Logger GRPC_LOG = java.util.logging.Logger.getLogger("io.grpc");

    private Bench() {
    }

    public static void main(String[] args) throws Exception {
        GRPC_LOG.setLevel(java.util.logging.Level.WARNING);
        BenchOptions options;
        try {
            options = BenchOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        long started = System.nanoTime();
        Instant startedAt = Instant.now();
        Results results;
        try (BenchEtcd etcd = new BenchEtcd(options.endpoints());
             CoordinatorHolder coordinator = CoordinatorHolder.start(options, etcd)) {
            List<Scenario> scenarios = scenarios(options, etcd, coordinator);
            CellRunner runner = new CellRunner(etcd, options.timing(), new CpuMeter(options.etcdPids()));
            warmUp(runner, scenarios, options.timing());
            List<CellResult> cells = new ArrayList<>();
            for (int inFlight : IN_FLIGHT) {
                for (Scenario scenario : scenarios) {
                    cells.add(runner.measure(scenario, inFlight));
                }
            }
            results = new Results(order(cells, scenarios));
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        Report report = new Report(results, about(options, startedAt, seconds));
        System.out.println();
        System.out.print(report.markdown());
        System.out.printf("%nmode %s, %.0f s in all; JSON in %s%n", options.timing().mode(), seconds, options.out());
        report.writeJson(options.out());
    }

    private static List<Scenario> scenarios(BenchOptions options, BenchEtcd etcd, CoordinatorHolder coordinator) {
        List<String> one = List.of("CPU");
        List<Scenario> all = new ArrayList<>(List.of(
                RawEtcdScenarios.put(etcd),
                RawEtcdScenarios.casHot(etcd),
                ReserveScenario.of(etcd, ScenarioNames.RESERVE_SPREAD,
                        "prepareOccupyingAsync + closeAsync, 1,000 accounts, 1 resource", 1000, one, 1),
                ReserveScenario.of(etcd, ScenarioNames.RESERVE_HOT, "the same on ONE account", 1, one, 1),
                ReserveScenario.of(etcd, ScenarioNames.RESERVE_HOT_MULTI, "ONE account, 3 resources per reservation",
                        1, List.of("CPU", "MEM", "DISK"), 1),
                RawEtcdScenarios.leaseCycle(etcd),
                LockScenario.of(etcd, ScenarioNames.LOCK_WRITE_CONTENDED, "write lock + unlock on one key", true),
                LockScenario.of(etcd, ScenarioNames.LOCK_READ_SHARED, "read lock + unlock on one key", false)));
        all.addAll(coordinator.scenarios(etcd));
        all.add(ReserveScenario.of(etcd, ScenarioNames.RESERVE_HOT_3CLIENTS,
                "reserve-hot over 3 QuotaManagers on 3 etcd clients (one JVM)", 1, one, 3));
        return all.stream().filter(s -> options.wants(s.name())).toList();
    }

    /**
     * Runs the lighter scenarios in turn so that the JIT has compiled jetcd and the library in this JVM; then, apart,
     * the HTTP scenarios for {@link Timing#coordinatorWarmUp()}, since each coordinator is a JVM of its own that
     * started cold: measured on a fresh coordinator at 1 in flight, create+finally took p50 21 ms in its first 2 s
     * of load and about 4.5 ms only after some 25 s.
     */
    private static void warmUp(CellRunner runner, List<Scenario> scenarios, Timing timing) throws Exception {
        List<Scenario> chosen = scenarios.stream().filter(s -> ScenarioNames.WARM_UP.contains(s.name())).toList();
        run(runner, chosen, timing.globalWarmUp());
        run(runner, scenarios.stream().filter(s -> ScenarioNames.isHttp(s.name())).toList(),
                timing.coordinatorWarmUp());
    }

    private static void run(CellRunner runner, List<Scenario> chosen, Duration total) throws Exception {
        if (chosen.isEmpty()) {
            return;
        }
        LOG.info("warming up for {} s on {}", total.toSeconds(), chosen.stream().map(Scenario::name).toList());
        Duration each = total.dividedBy(chosen.size());
        for (Scenario scenario : chosen) {
            try (Workload workload = scenario.open(WARM_UP_IN_FLIGHT)) {
                runner.run(workload, WARM_UP_IN_FLIGHT, each, "warm-up " + scenario.name());
            }
        }
    }

    /** Scenario by scenario in their listed order, each at 1, 16, 64 in flight. */
    private static List<CellResult> order(List<CellResult> cells, List<Scenario> scenarios) {
        List<CellResult> out = new ArrayList<>();
        for (Scenario scenario : scenarios) {
            cells.stream().filter(c -> c.scenario().equals(scenario.name())).forEach(out::add);
        }
        return out;
    }

    private static Map<String, Object> about(BenchOptions options, Instant startedAt, double seconds) {
        Map<String, Object> about = new LinkedHashMap<>();
        about.put("mode", options.timing().mode());
        about.put("startedAt", startedAt.toString());
        about.put("seconds", Math.round(seconds));
        about.put("etcdEndpoints", options.endpoints());
        about.put("note", options.note());
        about.put("java", System.getProperty("java.version"));
        about.put("cpus", Runtime.getRuntime().availableProcessors());
        Timing t = options.timing();
        about.put("timing", Map.of("globalWarmUpSeconds", t.globalWarmUp().toMillis() / 1000.0,
                "coordinatorWarmUpSeconds", t.coordinatorWarmUp().toMillis() / 1000.0,
                "cellWarmUpSeconds", t.cellWarmUp().toMillis() / 1000.0,
                "windowSeconds", t.window().toMillis() / 1000.0, "repetitions", t.repetitions()));
        about.put("statistic", "each figure is the median over the repetitions; p50/p99 are nearest-rank over every "
                + "successful operation of a window; ops/s counts successes completed inside the window");
        return about;
    }
}
