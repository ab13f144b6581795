package io.woslo.bench;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * {@code --endpoints URL[,URL...] [--quick] [--out FILE] [--coordinator-jar PATH] [--scenarios a,b,...]
 * [--note TEXT] [--etcd-pids PID[,PID...]]}.
 *
 * @param scenarios only these (etcd-put always runs, as the ceiling); empty for all
 * @param note      free text stored in the JSON (e.g. where etcd keeps its data)
 * @param etcdPids  the etcd members' processes, whose CPU time counts with the run's (empty: not counted)
 */
record BenchOptions(List<String> endpoints, Timing timing, Path out, Path coordinatorJar, Set<String> scenarios,
                    String note, List<Long> etcdPids) {
    static final String USAGE = "usage: java -jar woslo-bench.jar --endpoints URL[,URL...] [--quick] [--out FILE]"
            + " [--coordinator-jar PATH] [--scenarios a,b,...] [--note TEXT] [--etcd-pids PID[,PID...]]";

    static BenchOptions parse(String[] args) {
        List<String> endpoints = null;
        Timing timing = Timing.FULL;
        Path out = Path.of("bench", "results.json");
        Path jar = null;
        Set<String> scenarios = Set.of();
        String note = "";
        List<Long> etcdPids = List.of();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> timing = Timing.QUICK;
                case "--endpoints" -> endpoints = loopbackUrls(value(args, ++i, "--endpoints"));
                case "--out" -> out = Path.of(value(args, ++i, "--out"));
                case "--coordinator-jar" -> jar = Path.of(value(args, ++i, "--coordinator-jar"));
                case "--scenarios" -> scenarios = Set.copyOf(Arrays.asList(value(args, ++i, "--scenarios").split(",")));
                case "--note" -> note = value(args, ++i, "--note");
                case "--etcd-pids" -> etcdPids = Arrays.stream(value(args, ++i, "--etcd-pids").split(","))
                        .map(String::trim).filter(p -> !p.isEmpty()).map(Long::valueOf).toList();
                default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'; " + USAGE);
            }
        }
        if (endpoints == null) {
            throw new IllegalArgumentException("--endpoints is required; " + USAGE);
        }
        return new BenchOptions(endpoints, timing, out, jar, scenarios, note, etcdPids);
    }

    boolean wants(String scenario) {
        return scenarios.isEmpty() || scenarios.contains(scenario) || scenario.equals(Results.CEILING);
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length || args[i].isBlank()) {
            throw new IllegalArgumentException(flag + " needs a value; " + USAGE);
        }
        return args[i];
    }

    /** The benchmark talks to loopback only. */
    private static List<String> loopbackUrls(String list) {
        List<String> urls = Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        for (String url : urls) {
            String host = java.net.URI.create(url).getHost();
            if (!"127.0.0.1".equals(host) && !"localhost".equals(host) && !"[::1]".equals(host)) {
                throw new IllegalArgumentException("--endpoints must be loopback URLs, got '" + url + "'");
            }
        }
        if (urls.isEmpty()) {
            throw new IllegalArgumentException("--endpoints names no URL");
        }
        return urls;
    }
}
