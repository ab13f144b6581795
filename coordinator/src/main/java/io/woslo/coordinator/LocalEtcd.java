package io.woslo.coordinator;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An etcd process of the coordinator's own, started only when asked for ({@code etcd.local: true},
 * {@code --local-etcd}): binary {@code etcd} from the PATH, data under {@code <workDir>/data/etcd}, client port 2379
 * unless taken (then a free one), output in {@code data/etcd.log}, and {@code data/etcd.pid} holding its PID and the
 * coordinator's. {@link #start} returns once etcd's {@code /health} says true; {@link #close} stops the process by
 * its PID and removes the PID file.
 *
 * <p>A coordinator killed with SIGKILL leaves its etcd running, holding the data directory. The next start finds
 * it (the PID file, or else a process whose {@code /proc/<pid>/cmdline} is an etcd with this data directory): if it
 * answers it is reused, otherwise it is stopped by its PID and a new one started; either is logged. An etcd whose
 * coordinator still runs is left alone and the start fails, naming both.
 */
final class LocalEtcd implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalEtcd.class);
    static final int DEFAULT_CLIENT_PORT = 2379;
    static final int DEFAULT_PEER_PORT = 2380;
    static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    /** How long a leftover etcd has to answer {@code /health} before it is stopped instead of reused. */
    static final Duration LEFTOVER_HEALTH_TIMEOUT = Duration.ofSeconds(3);
    static final Duration STOP_GRACE = Duration.ofSeconds(10);

    private final ProcessHandle handle;
    private final String endpoint;
    private final Path pidFile;

    private LocalEtcd(ProcessHandle handle, String endpoint, Path pidFile) {
        this.handle = handle;
        this.endpoint = endpoint;
        this.pidFile = pidFile;
    }

    static LocalEtcd start(Path workDir) {
        Path dataDir = workDir.resolve("data").resolve("etcd").toAbsolutePath().normalize();
        Path pidFile = dataDir.resolveSibling("etcd.pid");
        Optional<LocalEtcd> reused = takeOverLeftover(dataDir, pidFile);
        return reused.orElseGet(() -> startNew(dataDir, pidFile));
    }

    private static LocalEtcd startNew(Path dataDir, Path pidFile) {
        int clientPort = portOrFree(DEFAULT_CLIENT_PORT);
        int peerPort = portOrFree(DEFAULT_PEER_PORT);
        String client = "http://127.0.0.1:" + clientPort;
        String peer = "http://127.0.0.1:" + peerPort;
        Path log = dataDir.resolveSibling("etcd.log");
        Process process;
        try {
            Files.createDirectories(dataDir);
            process = new ProcessBuilder(List.of("etcd", "--name", "woslo-local", "--data-dir", dataDir.toString(),
                    "--listen-client-urls", client, "--advertise-client-urls", client,
                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                    "--initial-cluster", "woslo-local=" + peer))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start a local etcd (is 'etcd' on the PATH? scripts/install-etcd.sh"
                    + " installs it): " + e.getMessage(), e);
        }
        LocalEtcd etcd = new LocalEtcd(process.toHandle(), client, pidFile);
        try {
            etcd.writePidFile();
            awaitHealthy(process, client, log);
        } catch (RuntimeException e) {
            etcd.close();
            throw e;
        }
        LOG.info("started a local etcd (pid {}) on {} with data in {}", process.pid(), client, dataDir);
        return etcd;
    }

    /** Reuses a leftover etcd of an earlier coordinator that answers, or stops one that does not. */
    private static Optional<LocalEtcd> takeOverLeftover(Path dataDir, Path pidFile) {
        Optional<Leftover> found = Leftover.find(dataDir, pidFile);
        if (found.isEmpty()) {
            deleteQuietly(pidFile);
            return Optional.empty();
        }
        Leftover leftover = found.get();
        ProcessHandle etcd = leftover.etcd();
        Optional<ProcessHandle> owner = leftover.liveOwner();
        if (owner.isPresent()) {
            throw new IllegalStateException("the local etcd with data in " + dataDir + " (pid " + etcd.pid()
                    + ") belongs to a coordinator that is still running (pid " + owner.get().pid() + "); stop that"
                    + " one, start this one in another directory, or give it an endpoint (--etcd URL)");
        }
        String endpoint = leftover.endpoint();
        if (endpoint != null && answers(healthClient(), endpoint, LEFTOVER_HEALTH_TIMEOUT)) {
            LocalEtcd reused = new LocalEtcd(etcd, endpoint, pidFile);
            reused.writePidFile();
            LOG.warn("found a local etcd left running by an earlier coordinator (pid {}, data in {}); it answers on"
                    + " {}: reusing it", etcd.pid(), dataDir, endpoint);
            return Optional.of(reused);
        }
        LOG.warn("found a local etcd left running by an earlier coordinator (pid {}, data in {}) that does not answer"
                + " on {}: stopping it and starting a new one", etcd.pid(), dataDir, endpoint);
        stop(etcd);
        LOG.warn("stopped the leftover local etcd (pid {})", etcd.pid());
        deleteQuietly(pidFile);
        return Optional.empty();
    }

    String endpoint() {
        return endpoint;
    }

    long pid() {
        return handle.pid();
    }

    private void writePidFile() {
        try {
            Path tmp = pidFile.resolveSibling(pidFile.getFileName() + ".tmp");
            Files.writeString(tmp, handle.pid() + " " + ProcessHandle.current().pid() + "\n");
            Files.move(tmp, pidFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + pidFile + ": " + e, e);
        }
    }

    private static void awaitHealthy(Process process, String endpoint, Path log) {
        HttpClient http = healthClient();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the local etcd exited with code " + process.exitValue()
                        + "; the end of " + log + ":\n" + tail(log));
            }
            if (answers(http, endpoint, Duration.ZERO)) {
                return;
            }
            try {
                process.waitFor(100, TimeUnit.MILLISECONDS); // returns early only if etcd exits
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the local etcd", e);
            }
        }
        throw new IllegalStateException("the local etcd did not become healthy within " + START_TIMEOUT
                + "; the end of " + log + ":\n" + tail(log));
    }

    /** Whether {@code endpoint/health} says true, trying for at most {@code patience} (once when zero). */
    private static boolean answers(HttpClient http, String endpoint, Duration patience) {
        HttpRequest health = HttpRequest.newBuilder(URI.create(endpoint + "/health")).timeout(Duration.ofSeconds(1))
                .build();
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            try {
                HttpResponse<String> answer = http.send(health, HttpResponse.BodyHandlers.ofString());
                if (answer.statusCode() == 200 && answer.body().contains("true")) {
                    return true;
                }
            } catch (IOException e) {
                LOG.debug("etcd on {} not answering: {}", endpoint, e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while asking the local etcd for its health", e);
            }
            if (System.nanoTime() >= deadline) {
                return false;
            }
            try {
                Thread.sleep(100); // bounded polling of another process's health; nothing to wait on instead
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while asking the local etcd for its health", e);
            }
        }
    }

    private static HttpClient healthClient() {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException | RuntimeException e) {
            return "(unreadable: " + e + ")";
        }
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

    /** SIGTERM to this PID, then SIGKILL after {@link #STOP_GRACE}; fails if it still runs after that. */
    private static void stop(ProcessHandle process) {
        process.destroy();
        try {
            try {
                process.onExit().get(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                process.destroyForcibly();
                process.onExit().get(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot stop the etcd with pid " + process.pid() + ": " + e, e);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("cannot delete {}: {}", file, e.toString());
        }
    }

    /** Stops the process by its PID: a polite signal, then a forced one after 10 seconds; removes the PID file. */
    @Override
    public void close() {
        stop(handle);
        deleteQuietly(pidFile);
        LOG.info("stopped the local etcd (pid {})", handle.pid());
    }

    /** An etcd process serving a data directory, as found by its PID file or by its command line. */
    private record Leftover(ProcessHandle etcd, long recordedOwner, List<String> args) {
        private static final long NO_OWNER = -1;

        static Optional<Leftover> find(Path dataDir, Path pidFile) {
            long[] recorded = readPidFile(pidFile);
            if (recorded != null) {
                Optional<Leftover> byFile = at(recorded[0], recorded[1], dataDir);
                if (byFile.isPresent()) {
                    return byFile;
                }
                LOG.info("{} names pid {}, which is no etcd with data in {}; ignoring it", pidFile, recorded[0],
                        dataDir);
            }
            if (!Files.isDirectory(Path.of("/proc"))) {
                return Optional.empty();
            }
            return ProcessHandle.allProcesses()
                    .map(p -> at(p.pid(), NO_OWNER, dataDir))
                    .flatMap(Optional::stream)
                    .findFirst();
        }

        private static Optional<Leftover> at(long pid, long owner, Path dataDir) {
            List<String> args = cmdline(pid);
            try {
                if (args.isEmpty() || !baseName(args.get(0)).equals("etcd") || !dataDir.equals(option(args,
                        "--data-dir").map(d -> Path.of(d).toAbsolutePath().normalize()).orElse(null))) {
                    return Optional.empty();
                }
            } catch (RuntimeException notAPath) {
                return Optional.empty();
            }
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(h -> new Leftover(h, owner, args));
        }

        /** The coordinator still running this etcd as its child: the one in the PID file, or a java parent. */
        Optional<ProcessHandle> liveOwner() {
            return etcd.parent().filter(ProcessHandle::isAlive).filter(parent -> recordedOwner != NO_OWNER
                    ? parent.pid() == recordedOwner
                    : parent.info().command().map(c -> baseName(c).startsWith("java")).orElse(false));
        }

        /** The first client URL it advertises, or null. */
        String endpoint() {
            return option(args, "--advertise-client-urls").or(() -> option(args, "--listen-client-urls"))
                    .map(urls -> urls.split(",")[0].strip()).filter(u -> !u.isEmpty()).orElse(null);
        }

        private static long[] readPidFile(Path pidFile) {
            try {
                String[] parts = Files.readString(pidFile).strip().split("\\s+");
                return new long[] {Long.parseLong(parts[0]), parts.length > 1 ? Long.parseLong(parts[1]) : NO_OWNER};
            } catch (java.nio.file.NoSuchFileException e) {
                return null;
            } catch (IOException | RuntimeException e) {
                LOG.info("ignoring unreadable {}: {}", pidFile, e.toString());
                return null;
            }
        }

        private static List<String> cmdline(long pid) {
            try {
                byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
                return raw.length == 0 ? List.of()
                        : Arrays.asList(new String(raw, StandardCharsets.UTF_8).split("\0"));
            } catch (IOException | RuntimeException e) {
                return List.of();
            }
        }

        /** The value of {@code --name} (or Go's {@code -name}), as {@code --name V} or {@code --name=V}. */
        private static Optional<String> option(List<String> args, String name) {
            for (int i = 1; i < args.size(); i++) {
                String arg = args.get(i);
                for (String spelling : List.of(name, name.substring(1))) {
                    if (arg.equals(spelling) && i + 1 < args.size()) {
                        return Optional.of(args.get(i + 1));
                    }
                    if (arg.startsWith(spelling + "=")) {
                        return Optional.of(arg.substring(spelling.length() + 1));
                    }
                }
            }
            return Optional.empty();
        }

        private static String baseName(String file) {
            int slash = file.lastIndexOf('/');
            return slash < 0 ? file : file.substring(slash + 1);
        }
    }
}
