package io.woslo.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/**
 * A short randomized run with faults ({@link RandomizedRun}), checked by the {@link HistoryChecker}. The seed comes
 * from {@code -Dwoslo.seed=N} (replay) or is drawn and printed; the length from {@code -Dwoslo.randomized.seconds}
 * (default 60). A failure prints the seed, the faults and each broken invariant with a history excerpt.
 */
@WithEtcd(members = 3)
class RandomizedFaultsIT {
    @Test
    void aRandomizedRunWithFaultsKeepsEveryInvariant(EtcdCluster etcd) throws Exception {
        long seed = seed();
        Duration length = Duration.ofSeconds(Long.getLong("woslo.randomized.seconds", 60));
        System.out.println("RandomizedFaultsIT seed " + seed + " (replay with -Dwoslo.seed=" + seed + ")");
        List<String> report = new ArrayList<>();
        RandomizedRun.Report result;
        try (RandomizedRun run = new RandomizedRun(etcd, seed, Faults::log)) {
            result = run.run(length);
        }
        result.print(line -> {
            report.add(line);
            Faults.log(line);
        });
        assertThat(result.ok()).as("seed %d:%n%s", seed, String.join("\n", report)).isTrue();
    }

    static long seed() {
        String given = System.getProperty("woslo.seed");
        return given == null || given.isBlank() ? ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE)
                : Long.parseLong(given.trim());
    }
}
