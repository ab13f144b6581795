package io.woslo.testing;

import io.etcd.jetcd.Client;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real etcd cluster of 1 or 3 members on free loopback ports with temporary data directories (under
 * {@code /dev/shm} where it exists, so fsync costs stay out of test time).
 *
 * <p>Members run from the {@code etcd} binary on the PATH (or {@code WOSLO_ETCD_BINARY}). Where there is none
 * but a Docker engine answers, they run in containers through Testcontainers. Where neither exists, {@link #start}
 * fails and says to run {@code scripts/install-etcd.sh}; it never skips.
 *
 * <p>{@link #close()} ends every process the cluster started; a JVM shutdown hook does the same if the JVM exits
 * first.
 */
public final class EtcdCluster implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdCluster.class);
    private static final Duration LEADER_POLL = Duration.ofMillis(20);

    private final List<EtcdMember> members;
    private final Path baseDir;
    private final List<Client> clients = new ArrayList<>();
    private final AutoCloseable extraResources;
    private boolean closed;

    private EtcdCluster(List<EtcdMember> members, Path baseDir, AutoCloseable extraResources) {
        this.members = List.copyOf(members);
        this.baseDir = baseDir;
        this.extraResources = extraResources;
    }

    /** Starts a cluster of {@code size} members (1 or 3) and waits until all of them are healthy. */
    public static EtcdCluster start(int size, String label) {
        if (size != 1 && size != 3) {
            throw new IllegalArgumentException("an etcd test cluster has 1 or 3 members, not " + size);
        }
        Optional<String> binary = EtcdBinary.find();
        if (binary.isPresent()) {
            return startProcesses(binary.get(), size, label);
        }
        if (ContainerEtcd.dockerAvailable()) {
            LOG.info("no etcd binary on the PATH; starting etcd with Testcontainers");
            return ContainerEtcd.start(size);
        }
        throw new IllegalStateException("no etcd binary on the PATH and no Docker engine: run scripts/install-etcd.sh"
                + " (or set WOSLO_ETCD_BINARY to an etcd 3.4+ binary)");
    }

    private static EtcdCluster startProcesses(String binary, int size, String label) {
        IllegalStateException lastFailure = null;
        // A free port found by binding and releasing it can be taken by someone else before etcd binds it;
        // a start that fails that way is retried on new ports.
        for (int attempt = 1; attempt <= 3; attempt++) {
            Path baseDir = createBaseDir(label);
            List<ProcessEtcdMember> members = planMembers(binary, size, baseDir);
            EtcdCluster cluster = new EtcdCluster(new ArrayList<>(members), baseDir, null);
            try {
                members.forEach(ProcessEtcdMember::launch);
                EtcdHealth.awaitHealthy(members, TestTimeouts.etcdStart());
                LOG.info("etcd cluster of {} up: {}", size, cluster.endpoints());
                return cluster;
            } catch (IllegalStateException e) {
                lastFailure = e;
                LOG.warn("etcd cluster start attempt {} failed: {}", attempt, e.getMessage());
                cluster.close();
            }
        }
        throw lastFailure;
    }

    private static List<ProcessEtcdMember> planMembers(String binary, int size, Path baseDir) {
        int[] ports = FreePorts.take(2 * size);
        StringBuilder initialCluster = new StringBuilder();
        for (int i = 0; i < size; i++) {
            if (i > 0) {
                initialCluster.append(',');
            }
            initialCluster.append('m').append(i).append('=').append(ProcessEtcdMember.peerUrl(ports[2 * i + 1]));
        }
        String token = "woslo-test-" + UUID.randomUUID();
        List<ProcessEtcdMember> members = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            members.add(new ProcessEtcdMember("m" + i, binary, ports[2 * i], ports[2 * i + 1],
                    initialCluster.toString(), token, baseDir.resolve("m" + i)));
        }
        return members;
    }

    private static Path createBaseDir(String label) {
        Path shm = Path.of("/dev/shm");
        String prefix = "woslo-etcd-" + label.replaceAll("[^A-Za-z0-9_-]", "_") + "-";
        try {
            return Files.isDirectory(shm) && Files.isWritable(shm)
                    ? Files.createTempDirectory(shm, prefix)
                    : Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a data directory for etcd", e);
        }
    }

    static EtcdCluster ofContainers(List<EtcdMember> members, AutoCloseable resources) {
        return new EtcdCluster(members, null, resources);
    }

    /** The members, in start order. */
    public List<EtcdMember> members() {
        return members;
    }

    /** One member. */
    public EtcdMember member(int index) {
        return members.get(index);
    }

    /** The client URLs of all members, e.g. {@code http://127.0.0.1:40123}. */
    public List<URI> endpoints() {
        return members.stream().map(EtcdMember::clientUrl).toList();
    }

    /** The client URLs joined with commas, as the coordinator's {@code --etcd} flag takes them. */
    public String endpointList() {
        return String.join(",", endpoints().stream().map(URI::toString).toList());
    }

    /**
     * A new jetcd client over all members. The cluster closes it on {@link #close()}; tests may close it sooner.
     */
    public synchronized Client newClient() {
        return newClient(new io.grpc.ClientInterceptor[0]);
    }

    /**
     * A new jetcd client over all members whose calls pass through {@code interceptors} (e.g. a
     * {@link FaultInterceptor}). The cluster closes it on {@link #close()}.
     */
    public synchronized Client newClient(io.grpc.ClientInterceptor... interceptors) {
        return register(Client.builder().endpoints(endpoints().toArray(URI[]::new)), interceptors);
    }

    /**
     * A new jetcd client that talks to {@code member} only, so that every stream it opens (watches, lease
     * keep-alives) lives on that member: stopping, killing, pausing or restarting it is certain to hit them. Its calls
     * pass through {@code interceptors}. The cluster closes it on {@link #close()}.
     */
    public synchronized Client newClientOn(EtcdMember member, io.grpc.ClientInterceptor... interceptors) {
        if (!members.contains(member)) {
            throw new IllegalArgumentException(member + " is not a member of this cluster");
        }
        return register(Client.builder().endpoints(member.clientUrl()), interceptors);
    }

    private Client register(io.etcd.jetcd.ClientBuilder builder, io.grpc.ClientInterceptor... interceptors) {
        if (interceptors.length > 0) {
            builder.interceptor(interceptors[0], java.util.Arrays.copyOfRange(interceptors, 1, interceptors.length));
        }
        Client client = builder.build();
        clients.add(client);
        return client;
    }

    /** The member that is leader now, waiting up to the step timeout for an election to finish. */
    public EtcdMember awaitLeader() {
        try {
            // an election has no event we can watch from outside; poll briefly
            return Await.poll(TestTimeouts.step(), LEADER_POLL, LEADER_POLL, this::leaderNow)
                    .orElseThrow(() -> new IllegalStateException("no etcd leader within " + TestTimeouts.step()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a leader", e);
        }
    }

    /** The running member that says it is the leader, if one does now. */
    private Optional<EtcdMember> leaderNow() {
        for (EtcdMember member : members) {
            if (!member.isRunning()) {
                continue;
            }
            Optional<long[]> ids = EtcdHealth.memberAndLeader(member.clientUrl());
            if (ids.isPresent() && ids.get()[1] != 0 && ids.get()[0] == ids.get()[1]) {
                return Optional.of(member);
            }
        }
        return Optional.empty();
    }

    /** Process ids of the members that are running now (empty for containers). */
    public List<Long> pids() {
        return members.stream()
                .filter(m -> m instanceof ProcessEtcdMember)
                .map(m -> ((ProcessEtcdMember) m).process())
                .filter(p -> p != null && p.isAlive())
                .map(Process::pid)
                .toList();
    }

    /** Waits until every running member is healthy again, e.g. after a restart. */
    public void awaitHealthy() {
        EtcdHealth.awaitHealthy(members.stream().filter(EtcdMember::isRunning).toList(), TestTimeouts.etcdStart());
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        clients.forEach(Client::close);
        clients.clear();
        members.forEach(EtcdMember::resume);
        members.forEach(EtcdMember::stop);
        if (extraResources != null) {
            try {
                extraResources.close();
            } catch (Exception e) {
                LOG.warn("cannot release etcd container resources", e);
            }
        }
        deleteQuietly(baseDir);
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.warn("cannot delete etcd data directory {}", dir, e);
        }
    }

    /** Free loopback ports, found by binding port 0. */
    static final class FreePorts {
        private FreePorts() {
        }

        static int[] take(int count) {
            List<ServerSocket> sockets = new ArrayList<>();
            try {
                int[] ports = new int[count];
                for (int i = 0; i < count; i++) {
                    ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                    sockets.add(socket);
                    ports[i] = socket.getLocalPort();
                }
                return ports;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot find free loopback ports", e);
            } finally {
                for (ServerSocket socket : sockets) {
                    try {
                        socket.close();
                    } catch (IOException ignored) {
                        // the port is released either way
                    }
                }
            }
        }
    }

    /** Finds the etcd binary. */
    static final class EtcdBinary {
        private EtcdBinary() {
        }

        static Optional<String> find() {
            String configured = System.getenv("WOSLO_ETCD_BINARY");
            if (configured != null && !configured.isBlank()) {
                if (!Files.isExecutable(Path.of(configured))) {
                    throw new IllegalStateException("WOSLO_ETCD_BINARY=" + configured + " is not an executable file");
                }
                return Optional.of(configured);
            }
            String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
            for (String dir : path.split(java.io.File.pathSeparator)) {
                Path candidate = Path.of(dir.isEmpty() ? "." : dir, "etcd");
                if (Files.isExecutable(candidate)) {
                    return Optional.of(candidate.toString());
                }
            }
            return Optional.empty();
        }
    }
}
