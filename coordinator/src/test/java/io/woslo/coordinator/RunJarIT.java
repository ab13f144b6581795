package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.Await;
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
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runnable jar as users start it, in a separate process: asked for a local etcd it starts its own under
 * {@code ./data/etcd}, answers {@code GET /health} with 200, and on SIGTERM stops that etcd too; with no etcd at all
 * it says how to give it one and exits with 2; {@code --help} and {@code --version} print and exit with 0.
 */
class RunJarIT {
    private static final Path JAR = Path.of("target/woslo-coordinator.jar").toAbsolutePath();
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Duration HEALTH_POLL = Duration.ofMillis(200);

    @TempDir
    Path workDir;

    @Test
    void theJarStartsItsOwnEtcdAnswersHealthAndStopsBoth() throws Exception {
        int port = freePort();
        Path config = Files.writeString(workDir.resolve("coordinator.yaml"), """
                http: { host: 127.0.0.1, port: %d }
                etcd: { local: true }
                quota:
                  resources:
                    CPUA: { source: static, used: 10, quota: 20 }
                """.formatted(port));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder command = new ProcessBuilder(java, "-jar", JAR.toString(), "--config", config.toString())
                .directory(workDir.toFile());
        runAndCheck(command, port, () -> { });
        assertThat(workDir.resolve("data/etcd")).as("the local etcd's data lands in the working dir").isDirectory();
    }

    @Test
    void runShStartsTheDemo() throws Exception {
        int port = freePort();
        ProcessBuilder command = new ProcessBuilder("bash", "scripts/run.sh", "--port", String.valueOf(port))
                .directory(REPO.toFile());
        runAndCheck(command, port, () -> {
            // the demo's accounts (quota.accounts) are loaded at start, so the console lists them at once
            HttpRequest accounts = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/accounts"))
                    .timeout(TestTimeouts.step()).build();
            HttpClient client = HttpClient.newHttpClient();
            Await.until("account1 and account2 listed by GET /v1/accounts", () -> {
                try {
                    String body = client.send(accounts, HttpResponse.BodyHandlers.ofString()).body();
                    return body.contains("\"account\":\"account1\"") && body.contains("\"account\":\"account2\"");
                } catch (java.io.IOException e) {
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            });
        });
    }

    @Test
    void withoutAnEtcdTheJarSaysHowToGiveItOneAndExitsWith2() throws Exception {
        Path config = Files.writeString(workDir.resolve("coordinator.yaml"), """
                quota:
                  resources:
                    CPUA: { source: static, used: 10, quota: 20 }
                """);
        Result result = runToEnd("--config", config.toString());
        assertThat(result.exit()).as("output:\n%s", result.out()).isEqualTo(2);
        assertThat(result.out()).contains("no etcd endpoint: set etcd.endpoints, --etcd or WOSLO_ETCD_ENDPOINTS, or"
                + " ask for a local etcd with etcd.local: true / --local-etcd");
        assertThat(workDir.resolve("data")).as("no etcd was started").doesNotExist();
    }

    @Test
    void helpPrintsTheUsageOnStdoutAndExitsWith0() throws Exception {
        Result result = runToEnd("--help");
        assertThat(result.exit()).isZero();
        assertThat(result.out()).startsWith("usage: java -jar woslo-coordinator.jar").contains("--local-etcd")
                .contains("WOSLO_CONFIG").contains("--version");
        assertThat(result.err()).isEmpty();
    }

    @Test
    void versionPrintsTheManifestsImplementationVersion() throws Exception {
        String version;
        try (java.util.jar.JarFile jar = new java.util.jar.JarFile(JAR.toFile())) {
            version = jar.getManifest().getMainAttributes().getValue("Implementation-Version");
        }
        assertThat(version).as("the jar's manifest has a version").isNotBlank();
        Result result = runToEnd("--version");
        assertThat(result.exit()).isZero();
        assertThat(result.out().strip()).isEqualTo("woslo-coordinator " + version);
    }

    @Test
    void aBadFlagValueIsNamedAndExitsWith2() throws Exception {
        Result result = runToEnd("--local-etcd", "--host", "no such host");
        assertThat(result.exit()).isEqualTo(2);
        assertThat(result.out()).contains("--host").contains("no such host");
    }

    private record Result(int exit, String out, String err) {
    }

    /** Runs the jar in {@code workDir} to its end (within a bound) with no WOSLO_* variables. */
    private Result runToEnd(String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-jar", JAR.toString()));
        command.addAll(List.of(args));
        Path out = workDir.resolve("out.txt");
        Path err = workDir.resolve("err.txt");
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().keySet().removeIf(name -> name.startsWith("WOSLO_"));
        Process process = builder.start();
        try {
            assertThat(process.waitFor(TestTimeouts.scaled(Duration.ofSeconds(30)).toMillis(), TimeUnit.MILLISECONDS))
                    .as("the jar ends by itself").isTrue();
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
        return new Result(process.exitValue(), read(out), read(err));
    }

    private void runAndCheck(ProcessBuilder command, int port, Runnable whileRunning) throws Exception {
        Path log = workDir.resolve("run-" + port + ".log");
        Process process = command.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        List<ProcessHandle> children = new ArrayList<>();
        try {
            assertThat(awaitHealth(process, port)).as("GET /health within the bound; log:\n%s", read(log))
                    .isEqualTo(200);
            java.net.http.HttpResponse<String> page = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/ui/"))
                            .timeout(TestTimeouts.step()).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(page.statusCode()).as("the console's page from the jar: %s", page.body()).isEqualTo(200);
            assertThat(page.body()).contains("<!DOCTYPE html>");
            whileRunning.run();
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
        AtomicInteger status = new AtomicInteger(-1);
        Await.poll(TestTimeouts.scaled(Duration.ofSeconds(60)), HEALTH_POLL, HEALTH_POLL, () -> {
            if (!process.isAlive()) {
                return Optional.of(false);
            }
            try {
                status.set(client.send(health, HttpResponse.BodyHandlers.discarding()).statusCode());
            } catch (IOException notYet) {
                status.set(-1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.of(false);
            }
            return status.get() == 200 ? Optional.of(true) : Optional.empty();
        });
        if (Thread.interrupted()) {
            throw new InterruptedException("while waiting for GET /health");
        }
        return status.get();
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
