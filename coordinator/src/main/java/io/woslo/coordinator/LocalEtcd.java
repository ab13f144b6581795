package io.woslo.coordinator;

import java.io.IOException;
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
 * An etcd process of the coordinator's own, for when no endpoint is configured: binary {@code etcd} from the PATH,
 * data under {@code <workDir>/data/etcd}, client port 2379 unless taken (then a free one), output in
 * {@code data/etcd.log}. {@link #start} returns once etcd's {@code /health} says true; {@link #close} stops the
 * process by its handle.
 */
final class LocalEtcd implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalEtcd.class);
    static final int DEFAULT_CLIENT_PORT = 2379;
    static final int DEFAULT_PEER_PORT = 2380;
    static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final Process process;
    private final String endpoint;

    private LocalEtcd(Process process, String endpoint) {
        this.process = process;
        this.endpoint = endpoint;
    }

    static LocalEtcd start(Path workDir) {
        Path dataDir = workDir.resolve("data").resolve("etcd");
        int clientPort = portOrFree(DEFAULT_CLIENT_PORT);
        int peerPort = portOrFree(DEFAULT_PEER_PORT);
        String client = "http://127.0.0.1:" + clientPort;
        String peer = "http://127.0.0.1:" + peerPort;
        Process process;
        try {
            Files.createDirectories(dataDir);
            process = new ProcessBuilder(List.of("etcd", "--name", "woslo-local", "--data-dir", dataDir.toString(),
                    "--listen-client-urls", client, "--advertise-client-urls", client,
                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                    "--initial-cluster", "woslo-local=" + peer))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dataDir.resolveSibling("etcd.log").toFile()))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start a local etcd (is 'etcd' on the PATH? scripts/install-etcd.sh"
                    + " installs it): " + e.getMessage(), e);
        }
        LocalEtcd etcd = new LocalEtcd(process, client);
        try {
            etcd.awaitHealthy();
        } catch (RuntimeException e) {
            etcd.close();
            throw e;
        }
        LOG.info("started a local etcd (pid {}) on {} with data in {}", process.pid(), client, dataDir);
        return etcd;
    }

    String endpoint() {
        return endpoint;
    }

    long pid() {
        return process.pid();
    }

    private void awaitHealthy() {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create(endpoint + "/health")).timeout(Duration.ofSeconds(1))
                .build();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the local etcd exited with code " + process.exitValue()
                        + "; see data/etcd.log");
            }
            try {
                HttpResponse<String> answer = http.send(health, HttpResponse.BodyHandlers.ofString());
                if (answer.statusCode() == 200 && answer.body().contains("true")) {
                    return;
                }
            } catch (IOException e) {
                LOG.debug("local etcd not answering yet: {}", e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the local etcd", e);
            }
            try {
                process.waitFor(100, TimeUnit.MILLISECONDS); // returns early only if etcd exits
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the local etcd", e);
            }
        }
        throw new IllegalStateException("the local etcd did not become healthy within " + START_TIMEOUT);
    }

    private static int portOrFree(int preferred) {
        try (ServerSocket socket = new ServerSocket(preferred, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException taken) {
            try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                return socket.getLocalPort();
            } catch (IOException e) {
                throw new IllegalStateException("no free port for the local etcd", e);
            }
        }
    }

    /** Stops the process: a polite signal, then a forced one after 10 seconds. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        LOG.info("stopped the local etcd (pid {})", process.pid());
    }
}
