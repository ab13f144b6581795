package io.woslo.coordinator;

import io.woslo.testing.TestTimeouts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One etcd process of a test's own, with TLS (server certificate, client certificates required) or with
 * authentication set up by {@code etcdctl}; stopped by its PID. Data and log under the test's directory.
 */
final class SecureEtcd implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final List<String> tlsFlags;
    private final Process process;

    private SecureEtcd(Path dir, int port, List<String> etcdFlags, List<String> tlsFlags) {
        this.dir = dir;
        this.port = port;
        this.tlsFlags = tlsFlags;
        int peer = freePort();
        String scheme = tlsFlags.isEmpty() ? "http" : "https";
        List<String> command = new ArrayList<>(List.of("etcd", "--name", "s", "--data-dir",
                dir.resolve("etcd-data").toString(),
                "--listen-client-urls", scheme + "://127.0.0.1:" + port,
                "--advertise-client-urls", scheme + "://127.0.0.1:" + port,
                "--listen-peer-urls", "http://127.0.0.1:" + peer,
                "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer,
                "--initial-cluster", "s=http://127.0.0.1:" + peer,
                "--logger", "zap", "--log-level", "warn"));
        command.addAll(etcdFlags);
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("etcd.log").toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start etcd (scripts/install-etcd.sh)", e);
        }
    }

    /** etcd on https://127.0.0.1 with {@code server}'s certificate, requiring client certificates {@code ca} signs. */
    static SecureEtcd tls(Path dir, TestCerts ca, Path[] server, Path[] client) {
        SecureEtcd etcd = new SecureEtcd(dir, freePort(), List.of("--cert-file", server[0].toString(),
                "--key-file", server[1].toString(), "--trusted-ca-file", ca.cert().toString(), "--client-cert-auth"),
                List.of("--cacert", ca.cert().toString(), "--cert", client[0].toString(),
                        "--key", client[1].toString()));
        return etcd.awaitReady();
    }

    /**
     * Plain etcd with authentication on: {@code root} with {@code rootPassword}, and {@code user} with
     * {@code password} allowed to read and write the prefix {@code prefix} only.
     */
    static SecureEtcd withAuth(Path dir, String rootPassword, String user, String password, String prefix) {
        SecureEtcd etcd = new SecureEtcd(dir, freePort(), List.of(), List.of()).awaitReady();
        etcd.etcdctl("user", "add", "root:" + rootPassword);
        etcd.etcdctl("role", "add", user);
        etcd.etcdctl("role", "grant-permission", user, "--prefix=true", "readwrite", prefix);
        etcd.etcdctl("user", "add", user + ":" + password);
        etcd.etcdctl("user", "grant-role", user, user);
        etcd.etcdctl("auth", "enable");
        return etcd;
    }

    String endpoint() {
        return (tlsFlags.isEmpty() ? "http" : "https") + "://127.0.0.1:" + port;
    }

    /**
     * Writes {@code dir/c.yaml}: a coordinator on a port of the system's choosing against this etcd, on
     * {@code namespace}, with {@code etcdSettings} as further lines of its etcd section (user, password, tls), and a
     * static resource CPUA (used 10, quota 20).
     */
    Path coordinatorConfig(Path dir, String namespace, String... etcdSettings) throws IOException {
        StringBuilder settings = new StringBuilder();
        for (String line : etcdSettings) {
            settings.append("  ").append(line).append('\n');
        }
        return Files.writeString(dir.resolve("c.yaml"), """
                http: { host: 127.0.0.1, port: 0 }
                etcd:
                  endpoints: ["%s"]
                  namespace: %s
                %squota:
                  operationTimeout: 20s
                  resources: { CPUA: { source: static, used: 10, quota: 20 } }
                """.formatted(endpoint(), namespace, settings));
    }

    /** Polls etcdctl's health check (a process start has no event to wait on) within the etcd start bound. */
    private SecureEtcd awaitReady() {
        try {
            io.woslo.testing.Await.until("etcd healthy", TestTimeouts.etcdStart(), () -> {
                if (!process.isAlive()) {
                    throw new IllegalStateException("etcd exited: " + log());
                }
                try {
                    etcdctl("endpoint", "health");
                    return true;
                } catch (IllegalStateException notYet) {
                    return false;
                }
            });
            return this;
        } catch (AssertionError | IllegalStateException e) {
            close();
            throw new IllegalStateException(e.getMessage() + "\n" + log(), e);
        }
    }

    /** Runs etcdctl against this etcd; throws with its output when it fails. */
    String etcdctl(String... args) {
        List<String> command = new ArrayList<>(List.of("etcdctl", "--endpoints", endpoint(),
                "--command-timeout", "3s"));
        command.addAll(tlsFlags);
        command.addAll(List.of(args));
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
            builder.environment().put("ETCDCTL_API", "3");
            Process p = builder.start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("etcdctl hung: " + command);
            }
            String text = new String(out, java.nio.charset.StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException("etcdctl " + String.join(" ", args) + " failed: " + text);
            }
            return text;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run etcdctl", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("etcd.log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** Stops etcd by its PID: SIGTERM, then SIGKILL after a bound. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
