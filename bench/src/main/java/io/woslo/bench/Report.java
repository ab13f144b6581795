package io.woslo.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The run's figures as a Markdown table with the targets (for humans) and as JSON (for tools). */
final class Report {
    private final Results results;
    private final List<Target> targets;
    private final Map<String, Object> about;

    Report(Results results, Map<String, Object> about) {
        this.results = results;
        this.targets = Targets.on(results);
        this.about = about;
    }

    String markdown() {
        StringBuilder out = new StringBuilder();
        out.append("| scenario | in flight | ops/s | × etcd-put | p50 ms | p99 ms | retries/op | CPU ms/op | cores busy"
                + " | errors |\n");
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (CellResult c : results.cells()) {
            out.append("| ").append(c.scenario())
                    .append(" | ").append(c.inFlight())
                    .append(" | ").append(number(c.opsPerSecond(), "%,.0f"))
                    .append(" | ").append(number(ratioToCeiling(c), "%.2f"))
                    .append(" | ").append(number(c.p50Millis(), "%.2f"))
                    .append(" | ").append(number(c.p99Millis(), "%.2f"))
                    .append(" | ").append(c.retriesPerOp() == null ? "n/a" : number(c.retriesPerOp(), "%.2f"))
                    .append(" | ").append(number(c.cpuMillisPerOp(), "%.3f"))
                    .append(" | ").append(number(c.coresBusy(), "%.2f"))
                    .append(" | ").append(c.errors())
                    .append(" |\n");
        }
        out.append("\n| target | required | measured | verdict |\n|---|---:|---:|---|\n");
        for (Target t : targets) {
            out.append("| ").append(t.goal()).append(" | ").append(t.requirement())
                    .append(" | ").append(number(t.measured(), "%.2f")).append(" | ").append(t.verdict())
                    .append(" |\n");
        }
        List<CellResult> failing = results.cells().stream().filter(c -> c.firstError() != null).toList();
        if (!failing.isEmpty()) {
            out.append("\nFailures:\n");
            failing.forEach(c -> out.append("- ").append(c.scenario()).append(" at ").append(c.inFlight())
                    .append(" in flight: ").append(c.errors()).append(" failed, first: ").append(c.firstError())
                    .append('\n'));
        }
        return out.toString();
    }

    void writeJson(Path file) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>(about);
        json.put("cells", results.cells().stream().map(this::cellJson).toList());
        json.put("targets", targets.stream().map(t -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("goal", t.goal());
            m.put("required", t.requirement());
            m.put("measured", finite(t.measured()));
            m.put("verdict", t.verdict());
            return m;
        }).toList());
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), json);
    }

    private Map<String, Object> cellJson(CellResult c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("scenario", c.scenario());
        m.put("inFlight", c.inFlight());
        m.put("opsPerSecond", finite(c.opsPerSecond()));
        m.put("ratioToEtcdPut", finite(ratioToCeiling(c)));
        m.put("p50Millis", finite(c.p50Millis()));
        m.put("p99Millis", finite(c.p99Millis()));
        m.put("retriesPerOp", c.retriesPerOp() == null ? "n/a" : finite(c.retriesPerOp()));
        m.put("errors", c.errors());
        m.put("firstError", c.firstError());
        m.put("repetitions", c.repetitions().stream().map(r -> {
            Map<String, Object> rep = new LinkedHashMap<>();
            rep.put("opsPerSecond", finite(r.opsPerSecond()));
            rep.put("p50Millis", finite(r.p50Millis()));
            rep.put("p99Millis", finite(r.p99Millis()));
            rep.put("succeeded", r.succeeded());
            rep.put("errors", r.errors());
            rep.put("drained", r.drained());
            return rep;
        }).toList());
        return m;
    }

    /** The cell's throughput over {@code etcd-put}'s at the same in-flight level. */
    private double ratioToCeiling(CellResult c) {
        return results.throughputRatio(c.scenario(), Results.CEILING, c.inFlight());
    }

    private static Object finite(double value) {
        return Double.isNaN(value) || Double.isInfinite(value) ? null : Math.round(value * 1000) / 1000.0;
    }

    private static String number(double value, String format) {
        return Double.isNaN(value) ? "—" : String.format(Locale.ROOT, format, value);
    }
}
