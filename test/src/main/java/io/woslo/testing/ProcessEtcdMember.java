package io.woslo.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** An etcd member run as a child process of the test JVM from the {@code etcd} binary. */
final class ProcessEtcdMember implements EtcdMember {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessEtcdMember.class);

    private final String name;
    private final String binary;
    private final int clientPort;
    private final int peerPort;
    private final String initialCluster;
    private final String clusterToken;
    private final Path dataDir;
    private final Path logFile;
    private volatile Process process;
    private volatile boolean paused;

    ProcessEtcdMember(String name, String binary, int clientPort, int peerPort, String initialCluster,
                      String clusterToken, Path dataDir) {
        this.name = name;
        this.binary = binary;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.initialCluster = initialCluster;
        this.clusterToken = clusterToken;
        this.dataDir = dataDir;
        this.logFile = dataDir.resolveSibling(name + ".log");
    }

    static String peerUrl(int port) {
        return "http://127.0.0.1:" + port;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public URI clientUrl() {
        return URI.create("http://127.0.0.1:" + clientPort);
    }

    int peerPort() {
        return peerPort;
    }

    Path logFile() {
        return logFile;
    }

    /** The live process, or null when the member is stopped. */
    Process process() {
        return process;
    }

    /** Starts the process without waiting for health; the cluster waits for all members together. */
    synchronized void launch() {
        if (isRunning()) {
            throw new IllegalStateException("etcd member " + name + " is already running");
        }
        List<String> command = new ArrayList<>(List.of(
                binary,
                "--name", name,
                "--data-dir", dataDir.toString(),
                "--listen-client-urls", clientUrl().toString(),
                "--advertise-client-urls", clientUrl().toString(),
                "--listen-peer-urls", peerUrl(peerPort),
                "--initial-advertise-peer-urls", peerUrl(peerPort),
                "--initial-cluster", initialCluster,
                "--initial-cluster-token", clusterToken,
                "--initial-cluster-state", "new",
                "--logger", "zap",
                "--log-level", "warn"));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start etcd member " + name + " with " + binary, e);
        }
        ProcessReaper.register(process);
        LOG.debug("started etcd member {} pid {} on {}", name, process.pid(), clientUrl());
    }

    @Override
    public boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    @Override
    public void stop() {
        end(false);
    }

    @Override
    public void kill() {
        end(true);
    }

    @Override
    public void restart() {
        launch();
        EtcdHealth.awaitHealthy(List.of(this), TestTimeouts.etcdStart());
    }

    @Override
    public synchronized void pause() {
        Process p = process;
        if (p == null) {
            throw new IllegalStateException("etcd member " + name + " is not running: nothing to pause");
        }
        if (!paused) {
            Signals.stop(p.pid());
            paused = true;
            LOG.debug("paused etcd member {} pid {} (SIGSTOP)", name, p.pid());
        }
    }

    @Override
    public synchronized void resume() {
        Process p = process;
        if (p != null && paused) {
            Signals.resume(p.pid());
            LOG.debug("resumed etcd member {} pid {} (SIGCONT)", name, p.pid());
        }
        paused = false;
    }

    @Override
    public boolean isPaused() {
        return paused;
    }

    private synchronized void end(boolean force) {
        Process p = process;
        if (p == null) {
            return;
        }
        if (paused) {
            Signals.resume(p.pid()); // a frozen process cannot act on SIGTERM
            paused = false;
        }
        if (force) {
            p.destroyForcibly();
        } else {
            p.destroy();
        }
        try {
            if (!p.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("etcd member {} pid {} ignored SIGTERM, killing it", name, p.pid());
                p.destroyForcibly();
                p.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        ProcessReaper.unregister(p);
        process = null;
    }

    @Override
    public String toString() {
        return name + "@" + clientUrl();
    }
}
