package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.TestTimeouts;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runnable jar as users start it, in a separate process: with no etcd endpoint it starts its own etcd under
 * {@code ./data/etcd}, answers {@code GET /health} with 200, and on SIGTERM stops that etcd too.
 */
class RunJarIT {
    private static final Path JAR = Path.of("target/woslo-coordinator.jar").toAbsolutePath();
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path workDir;

    @Test
    void theJarStartsItsOwnEtcdAnswersHealthAndStopsBoth() throws Exception {
        int port = freePort();
        Path config = Files.writeString(workDir.resolve("coordinator.yaml"), """
                http: { host: 127.0.0.1, port: %d }
                etcd: { endpoints: [] }
                quota:
                  resources:
                    CPUA: { source: static, used: 10, quota: 20 }
                """.formatted(port));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder command = new ProcessBuilder(java, "-jar", JAR.toString(), "--config", config.toString())
                .directory(workDir.toFile());
        runAndCheck(command, port);
        assertThat(workDir.resolve("data/etcd")).as("the local etcd's data lands in the working dir").isDirectory();
    }

    @Test
    void runShStartsTheDemo() throws Exception {
        int port = freePort();
        ProcessBuilder command = new ProcessBuilder("bash", "scripts/run.sh", "--port", String.valueOf(port))
                .directory(REPO.toFile());
        runAndCheck(command, port);
    }

    private void runAndCheck(ProcessBuilder command, int port) throws Exception {
        Path log = workDir.resolve("run-" + port + ".log");
        Process process = command.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        List<ProcessHandle> children = new ArrayList<>();
        try {
            assertThat(awaitHealth(process, port)).as("GET /health within the bound; log:\n%s", read(log))
                    .isEqualTo(200);
            process.descendants().forEach(children::add);
            assertThat(children).as("the coordinator runs its local etcd as a child")
                    .anyMatch(child -> child.info().command().orElse("").endsWith("etcd"));
        } finally {
            process.destroy();
            if (!process.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
            }
        }
        for (ProcessHandle child : children) {
            child.onExit().get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
            assertThat(child.isAlive()).as("child %s stopped with the coordinator", child.pid()).isFalse();
        }
        assertThat(read(log)).contains("listening on http://127.0.0.1:" + port).contains("curl")
                .contains("stopped the local etcd");
    }

    static int awaitHealth(Process process, int port) throws InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                .timeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TestTimeouts.scaled(Duration.ofSeconds(60)).toNanos();
        int status = -1;
        while (System.nanoTime() < deadline && process.isAlive()) {
            try {
                status = client.send(health, HttpResponse.BodyHandlers.discarding()).statusCode();
                if (status == 200) {
                    return status;
                }
            } catch (IOException notYet) {
                status = -1;
            }
            process.waitFor(200, TimeUnit.MILLISECONDS); // bounded polling; returns early if the process dies
        }
        return status;
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static String read(Path log) {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}
