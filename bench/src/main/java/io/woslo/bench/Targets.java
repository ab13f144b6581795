package io.woslo.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The performance targets the issues set, kept as data in the resource {@value #RESOURCE} (one line each) rather
 * than in code: a ratio of one scenario's throughput or p50 to another's at one in-flight level, and the bound it
 * must meet.
 */
final class Targets {
    static final String RESOURCE = "/performance-targets.tsv";
    private static final int COLUMNS = 5;

    private Targets() {
    }

    /** Which figure of the two cells a target divides. */
    enum Figure {
        OPS, P50
    }

    /**
     * One line of the table.
     *
     * @param atLeast true when the ratio must be at least {@code bound}, false when at most
     */
    record Spec(Figure figure, String scenario, String base, int inFlight, boolean atLeast, double bound) {
        /** How the report names it, e.g. "reserve-hot / etcd-put ops/s at 64 in flight". */
        String goal() {
            return figure == Figure.OPS
                    ? scenario + " / " + base + " ops/s at " + inFlight + " in flight"
                    : scenario + " p50 / " + base + " p50 at " + inFlight + " in flight";
        }

        /** This target with its ratio measured in {@code results}. */
        Target on(Results results) {
            double measured = figure == Figure.OPS
                    ? results.throughputRatio(scenario, base, inFlight)
                    : results.p50Ratio(scenario, base, inFlight);
            return new Target(goal(), measured, bound, atLeast);
        }
    }

    /** Every target, measured in {@code results}, in the table's order. */
    static List<Target> on(Results results) {
        return table().stream().map(spec -> spec.on(results)).toList();
    }

    /** The table as written in {@value #RESOURCE}. */
    static List<Spec> table() {
        try (InputStream in = Targets.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the resource " + RESOURCE + " is missing from the jar");
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            return parse(reader.lines().toList());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    /** Parses the lines of the table; blank lines and {@code #} comments are skipped. */
    static List<Spec> parse(List<String> lines) {
        List<Spec> specs = new ArrayList<>();
        for (String line : lines) {
            if (!line.isBlank() && !line.startsWith("#")) {
                specs.add(spec(line));
            }
        }
        return List.copyOf(specs);
    }

    private static Spec spec(String line) {
        String[] cells = line.split("\t");
        if (cells.length != COLUMNS) {
            throw new IllegalArgumentException(RESOURCE + ": expected " + COLUMNS + " tab-separated columns in '"
                    + line + "'");
        }
        Figure figure = Figure.valueOf(cells[0].trim().toUpperCase(Locale.ROOT));
        String scenario = known(cells[1].trim(), line);
        String base = known(cells[2].trim(), line);
        int inFlight = Integer.parseInt(cells[3].trim());
        String[] bound = cells[4].trim().split("\\s+");
        if (bound.length != 2 || !(bound[0].equals(">=") || bound[0].equals("<="))) {
            throw new IllegalArgumentException(RESOURCE + ": the bound must be '>= X' or '<= X' in '" + line + "'");
        }
        return new Spec(figure, scenario, base, inFlight, bound[0].equals(">="), Double.parseDouble(bound[1]));
    }

    private static String known(String scenario, String line) {
        if (!ScenarioNames.ALL.contains(scenario)) {
            throw new IllegalArgumentException(RESOURCE + ": unknown scenario '" + scenario + "' in '" + line + "'");
        }
        return scenario;
    }
}
