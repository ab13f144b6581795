package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.TestTimeouts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator killed with SIGKILL leaves its local etcd running on {@code ./data/etcd}. The next start used to wait
 * 30 s and fail without naming the cause; now it reuses that etcd when it answers and stops it (by its PID) when it
 * does not, and says which.
 */
class LocalEtcdLeftoverIT {
    private static final Path JAR = Path.of("target/woslo-coordinator.jar").toAbsolutePath();

    @TempDir
    Path workDir;

    /** Every process this test started or found, stopped by PID at the end whatever happened. */
    private final List<Long> pids = new ArrayList<>();

    @AfterEach
    void stopEverythingByPid() throws Exception {
        long[] recorded = pidFile();
        if (recorded != null) {
            pids.add(recorded[0]);
        }
        for (long pid : pids) {
            ProcessHandle.of(pid).filter(ProcessHandle::isAlive).ifPresent(ProcessHandle::destroyForcibly);
        }
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
        }
    }

    @Test
    void aKilledCoordinatorsEtcdIsReusedWhenItAnswersAndStoppedWhenItDoesNot() throws Exception {
        Path config = Files.writeString(workDir.resolve("coordinator.yaml"), """
                quota:
                  resources:
                    CPUA: { source: static, used: 10, quota: 20 }
                """);

        Process first = startJar(config, "first");
        long etcd = pidFile()[0];
        pids.add(etcd);
        assertThat(pidFile()[1]).as("the PID file names the coordinator too").isEqualTo(first.pid());
        assertThat(first.descendants().map(ProcessHandle::pid)).as("the etcd in the PID file is the coordinator's")
                .contains(etcd);
        kill9(first);
        assertThat(ProcessHandle.of(etcd).map(ProcessHandle::isAlive)).as("kill -9 leaves the etcd running")
                .contains(true);

        long began = System.nanoTime();
        Process second = startJar(config, "second");
        Duration took = Duration.ofNanos(System.nanoTime() - began);
        assertThat(took).as("no 30 s wait for a data directory held by the leftover etcd")
                .isLessThan(TestTimeouts.scaled(Duration.ofSeconds(20)));
        assertThat(log("second")).contains("found a local etcd left running by an earlier coordinator (pid " + etcd)
                .contains("reusing it");
        assertThat(pidFile()).as("the reused etcd, now owned by the second coordinator")
                .containsExactly(etcd, second.pid());
        kill9(second);

        signal("-STOP", etcd); // frozen: it holds the data directory but answers nothing
        Process third = startJar(config, "third");
        assertThat(log("third")).contains("found a local etcd left running by an earlier coordinator (pid " + etcd)
                .contains("does not answer").contains("stopped the leftover local etcd (pid " + etcd + ")");
        assertThat(ProcessHandle.of(etcd).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        long fresh = pidFile()[0];
        pids.add(fresh);
        assertThat(fresh).as("a new etcd").isNotEqualTo(etcd);
        assertThat(pidFile()[1]).isEqualTo(third.pid());

        third.destroy(); // SIGTERM: the clean shutdown stops its etcd and removes the PID file
        assertThat(third.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        ProcessHandle.of(fresh).ifPresent(h -> h.onExit().orTimeout(TestTimeouts.step().toMillis(),
                TimeUnit.MILLISECONDS).join());
        assertThat(ProcessHandle.of(fresh).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertThat(workDir.resolve("data/etcd.pid")).doesNotExist();
        assertThat(log("third")).contains("stopped the local etcd (pid " + fresh + ")");
    }

    private Process startJar(Path config, String name) throws Exception {
        int port = RunJarIT.freePort();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(java, "-jar", JAR.toString(), "--config", config.toString(),
                "--local-etcd", "--port", String.valueOf(port))
                .directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(workDir.resolve(name + ".log").toFile()).start();
        pids.add(process.pid());
        assertThat(RunJarIT.awaitHealth(process, port)).as("the %s coordinator answers /health; log:\n%s", name,
                log(name)).isEqualTo(200);
        return process;
    }

    private static void kill9(Process process) throws InterruptedException {
        process.destroyForcibly(); // SIGKILL: no shutdown hook runs
        assertThat(process.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    }

    private static void signal(String signal, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", signal, Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        assertThat(kill.exitValue()).as("kill %s %s", signal, pid).isZero();
    }

    /** {etcd pid, coordinator pid} from {@code data/etcd.pid}, or null when there is none. */
    private long[] pidFile() throws Exception {
        Path file = workDir.resolve("data/etcd.pid");
        if (!Files.exists(file)) {
            return null;
        }
        String[] parts = Files.readString(file).strip().split("\\s+");
        return new long[] {Long.parseLong(parts[0]), Long.parseLong(parts[1])};
    }

    private String log(String name) throws Exception {
        Path file = workDir.resolve(name + ".log");
        return Files.exists(file) ? Files.readString(file) : "";
    }
}
