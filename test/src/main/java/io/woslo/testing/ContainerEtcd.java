package io.woslo.testing;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The fallback where no etcd binary exists but a Docker engine does: members in containers on one Docker network.
 * Stop and kill work; restart is not offered, because Docker gives a restarted container new host ports.
 */
final class ContainerEtcd {
    private static final DockerImageName IMAGE = DockerImageName.parse("quay.io/coreos/etcd:v3.4.34");
    private static final int CLIENT_PORT = 2379;

    private ContainerEtcd() {
    }

    static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    static EtcdCluster start(int size) {
        Network network = Network.newNetwork();
        StringBuilder initialCluster = new StringBuilder();
        for (int i = 0; i < size; i++) {
            initialCluster.append(i > 0 ? "," : "").append("m").append(i).append("=http://m").append(i).append(":2380");
        }
        List<EtcdMember> members = new ArrayList<>();
        List<GenericContainer<?>> containers = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            String name = "m" + i;
            GenericContainer<?> container = new GenericContainer<>(IMAGE)
                    .withNetwork(network)
                    .withNetworkAliases(name)
                    .withExposedPorts(CLIENT_PORT)
                    .withCommand("etcd", "--name", name,
                            "--listen-client-urls", "http://0.0.0.0:2379",
                            "--advertise-client-urls", "http://" + name + ":2379",
                            "--listen-peer-urls", "http://0.0.0.0:2380",
                            "--initial-advertise-peer-urls", "http://" + name + ":2380",
                            "--initial-cluster", initialCluster.toString(),
                            "--initial-cluster-state", "new")
                    .waitingFor(Wait.forHttp("/health").forPort(CLIENT_PORT));
            containers.add(container);
        }
        containers.parallelStream().forEach(GenericContainer::start);
        for (int i = 0; i < size; i++) {
            members.add(new ContainerMember("m" + i, containers.get(i)));
        }
        return EtcdCluster.ofContainers(members, () -> {
            containers.forEach(GenericContainer::stop);
            network.close();
        });
    }

    private static final class ContainerMember implements EtcdMember {
        private final String name;
        private final GenericContainer<?> container;
        private final URI clientUrl;

        ContainerMember(String name, GenericContainer<?> container) {
            this.name = name;
            this.container = container;
            this.clientUrl = URI.create("http://" + container.getHost() + ":" + container.getMappedPort(CLIENT_PORT));
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public URI clientUrl() {
            return clientUrl;
        }

        @Override
        public boolean isRunning() {
            return container.isRunning();
        }

        @Override
        public void stop() {
            if (container.isRunning()) {
                container.getDockerClient().stopContainerCmd(container.getContainerId()).exec();
            }
        }

        @Override
        public void kill() {
            if (container.isRunning()) {
                container.getDockerClient().killContainerCmd(container.getContainerId()).exec();
            }
        }

        @Override
        public void restart() {
            throw new UnsupportedOperationException(
                    "restarting an etcd member needs the etcd binary: run scripts/install-etcd.sh");
        }

        private volatile boolean paused;

        @Override
        public void pause() {
            if (!paused) {
                container.getDockerClient().pauseContainerCmd(container.getContainerId()).exec(); // the cgroup freezer
                paused = true;
            }
        }

        @Override
        public void resume() {
            if (paused) {
                container.getDockerClient().unpauseContainerCmd(container.getContainerId()).exec();
                paused = false;
            }
        }

        @Override
        public boolean isPaused() {
            return paused;
        }

        @Override
        public String toString() {
            return name + "@" + clientUrl;
        }
    }
}
