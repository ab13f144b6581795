package io.woslo.fault;

import io.woslo.testing.EtcdCluster;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The fault soak behind {@code scripts/soak.sh [minutes] [--seed N]}: a {@link RandomizedRun} on a three-member etcd
 * cluster for the given time (default 5 minutes), with every fault kind the harness has (leader kill, member
 * stop/restart and SIGSTOP, restart of the member a client's watches live on, lost replies, held transactions,
 * broken watch streams, delayed replies, a slow or failing source of truth, a client JVM frozen past its lease).
 * At the end it prints how many faults of each kind it injected and the result of each invariant check, and exits
 * 1 if one failed (2 if the soak could not run).
 */
public final class Soak {
    private Soak() {
    }

    public static void main(String[] args) {
        double minutes = 5;
        Long seed = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--seed") && i + 1 < args.length) {
                seed = Long.parseLong(args[++i]);
            } else if (args[i].startsWith("--seed=")) {
                seed = Long.parseLong(args[i].substring("--seed=".length()));
            } else {
                minutes = Double.parseDouble(args[i]);
            }
        }
        long chosen = seed != null ? seed : ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        Duration length = Duration.ofSeconds((long) (60 * minutes));
        print("soak for " + length + " on a three-member etcd cluster, seed " + chosen
                + " (replay with scripts/soak.sh " + minutes + " --seed " + chosen + ")");
        int status;
        try (EtcdCluster etcd = EtcdCluster.start(3, "soak")) {
            RandomizedRun.Report report;
            try (RandomizedRun run = new RandomizedRun(etcd, chosen, Soak::print)) {
                report = run.run(length);
            }
            report.print(Soak::print);
            status = report.ok() ? 0 : 1;
        } catch (Throwable e) {
            print("FAILED to run (seed " + chosen + "): " + e);
            e.printStackTrace(System.out);
            status = 2;
        }
        System.exit(status);
    }

    private static void print(String line) {
        System.out.println(LocalTime.now().truncatedTo(ChronoUnit.MILLIS) + " " + line);
        System.out.flush();
    }
}
