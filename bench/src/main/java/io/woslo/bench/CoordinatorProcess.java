package io.woslo.bench;

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
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator jar as a child process on a free loopback port, against the benchmark's etcd, with a static
 * resource {@value #RESOURCE} whose quota nobody reaches. Stopped through its {@link Process} handle (and by a
 * shutdown hook should the benchmark itself be stopped).
 */
final class CoordinatorProcess implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CoordinatorProcess.class);
    static final String RESOURCE = "CPU";
    private static final Duration START_LIMIT = Duration.ofSeconds(60);
    private static final Duration STOP_LIMIT = Duration.ofSeconds(15);

    private final Process process;
    private final Thread stopOnExit;
    private final String baseUrl;
    private final String namespace;
    private final Path log;

    private CoordinatorProcess(Process process, String baseUrl, String namespace, Path log) {
        this.process = process;
        this.baseUrl = baseUrl;
        this.namespace = namespace;
        this.log = log;
        this.stopOnExit = new Thread(process::destroyForcibly, "woslo-bench-stop-coordinator");
        Runtime.getRuntime().addShutdownHook(stopOnExit);
    }

    /** Starts the jar and waits until {@code GET /health} answers 200. */
    static CoordinatorProcess start(Path jarPath, List<String> endpoints, String namespace) throws Exception {
        Path jar = jarPath.toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException("coordinator jar not found: " + jar);
        }
        int port = freePort();
        Path dir = Files.createTempDirectory("woslo-bench-coordinator");
        Path config = dir.resolve("coordinator.yaml");
        Files.writeString(config, String.join("\n",
                "http: { host: 127.0.0.1, port: " + port + ", token: \"\" }",
                "etcd: { endpoints: [" + String.join(", ", endpoints.stream().map(e -> "\"" + e + "\"").toList())
                        + "], namespace: " + namespace + " }",
                "quota:",
                "  cacheTtl: 1h",
                "  lockLeaseTime: 1m",
                "  resources:",
                "    " + RESOURCE + ": { source: static, used: 0, quota: " + StaticQuota.HUGE + " }",
                ""));
        Path log = dir.resolve("coordinator.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new java.util.ArrayList<>(List.of(java));
        // Extra JVM options for the coordinator, e.g. a flight recording to profile it under load:
        // WOSLO_BENCH_COORDINATOR_OPTS="-XX:StartFlightRecording=filename=/tmp/c.jfr,settings=profile"
        String extra = System.getenv("WOSLO_BENCH_COORDINATOR_OPTS");
        if (extra != null && !extra.isBlank()) {
            command.addAll(List.of(extra.trim().split("\\s+")));
        }
        command.addAll(List.of("-jar", jar.toString(), "--config", config.toString(),
                "--port", Integer.toString(port), "--etcd", String.join(",", endpoints), "--namespace", namespace));
        Process process = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        CoordinatorProcess coordinator = new CoordinatorProcess(process, "http://127.0.0.1:" + port, namespace, log);
        try {
            coordinator.awaitHealthy();
        } catch (Exception e) {
            coordinator.close();
            throw e;
        }
        LOG.info("coordinator pid {} at {} (namespace {}, log {})", process.pid(), coordinator.baseUrl, namespace, log);
        return coordinator;
    }

    String baseUrl() {
        return baseUrl;
    }

    String namespace() {
        return namespace;
    }

    private void awaitHealthy() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create(baseUrl + "/health")).timeout(Duration.ofSeconds(2))
                .build();
        long giveUpAt = System.nanoTime() + START_LIMIT.toNanos();
        while (System.nanoTime() < giveUpAt) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the coordinator exited with " + process.exitValue() + "; see " + log);
            }
            try {
                if (http.send(health, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the coordinator was not healthy within " + START_LIMIT + "; see " + log);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(STOP_LIMIT.toSeconds(), TimeUnit.SECONDS)) {
                LOG.warn("coordinator pid {} did not stop within {}; killing it", process.pid(), STOP_LIMIT);
                process.destroyForcibly().waitFor(STOP_LIMIT.toSeconds(), TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(stopOnExit);
        } catch (IllegalStateException e) {
            // already shutting down: the hook runs anyway and is harmless
        }
    }
}
