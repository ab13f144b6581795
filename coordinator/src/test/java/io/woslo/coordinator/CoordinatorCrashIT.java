package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator (the runnable jar, in its own process) is killed with SIGKILL while reservations it made are open,
 * on a three-member etcd cluster. Another coordinator instance finishes or rolls them back by id while their lease
 * lives; the one nobody ends expires with its lease, after which the account refreshes and reserves again.
 */
@WithEtcd(members = 3)
class CoordinatorCrashIT {
    private static final Path JAR = Path.of("target/woslo-coordinator.jar").toAbsolutePath();
    private static final Duration JAR_LEASE = Duration.ofSeconds(4);
    /** Room past a lease's end for etcd's expiry check (every 500 ms) and the request. */
    private static final Duration LEASE_EXPIRY_MARGIN = TestTimeouts.scaled(Duration.ofSeconds(3));
    private static final String RESOURCES = "CPUA: { source: static, used: 10, quota: 20 }\n";
    private static final String ACCOUNT = "acct";

    private final String namespace = TestCoordinators.freshNamespace("crash");

    @TempDir
    Path workDir;
    private int port;

    @Test
    void anotherInstanceEndsTheReservationsOfAKilledCoordinatorAndTheAccountIsUsableAfterTheLease(
            EtcdCluster etcd, Client raw) throws Exception {
        try (Coordinator survivor = TestCoordinators.start(etcd, namespace, null, RESOURCES)) {
            Http other = new Http(survivor.baseUrl());
            assertThat(other.post("/used_quota?account=" + ACCOUNT).status()).isEqualTo(204);
            String finished;
            String rolledBack;
            String abandoned;
            Process doomed = startJar(etcd);
            try {
                Http crashing = new Http("http://127.0.0.1:" + port);
                finished = reserve(crashing, 2);
                rolledBack = reserve(crashing, 3);
                abandoned = reserve(crashing, 1);
                assertThat(used(raw)).isEqualTo(16);

                doomed.destroyForcibly(); // kill -9: no shutdown hook, no lease revoked
                assertThat(doomed.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
            } finally {
                doomed.destroyForcibly();
            }
            long killedAt = System.nanoTime();

            assertThat(other.post("/v1/reservations/" + finished + "/finally").status()).isEqualTo(204);
            assertThat(other.post("/v1/reservations/" + rolledBack + "/rollback").status()).isEqualTo(204);
            assertThat(Duration.ofNanos(System.nanoTime() - killedAt)).as("ended while their lease lived")
                    .isLessThan(JAR_LEASE);
            assertThat(used(raw)).as("10 + 2 finished + 1 abandoned; the rolled-back 3 given back").isEqualTo(13);

            awaitGone(other, raw, abandoned);
            assertThat(other.post("/used_quota?account=" + ACCOUNT).status())
                    .as("a refresh takes the account's write lock once the dead instance's leases ended")
                    .isEqualTo(204);
            assertThat(used(raw)).as("the refresh brings the counter to the truth").isEqualTo(10);
            String after = reserve(other, 1);
            assertThat(other.post("/v1/reservations/" + after + "/finally").status()).isEqualTo(204);
            assertThat(used(raw)).isEqualTo(11);
            assertThat(TestCoordinators.keysUnder(raw, namespace + "/locks/")).as("no lock left").isZero();
            assertThat(TestCoordinators.keysUnder(raw, namespace + "/reservations/")).as("no record left").isZero();
        }
    }

    private Process startJar(EtcdCluster etcd) throws Exception {
        port = RunJarIT.freePort();
        Path config = Files.writeString(workDir.resolve("coordinator.yaml"), """
                http: { host: 127.0.0.1, port: %d }
                quota:
                  lockLeaseTime: %ds
                  resources:
                    %s""".formatted(port, JAR_LEASE.toSeconds(), RESOURCES));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(java, "-jar", JAR.toString(), "--config", config.toString(),
                "--etcd", etcd.endpointList(), "--namespace", namespace)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(workDir.resolve("coordinator.log").toFile())
                .start();
        try {
            assertThat(RunJarIT.awaitHealth(process, port)).as("the jar answers /health; log:\n%s",
                    Files.readString(workDir.resolve("coordinator.log"))).isEqualTo(200);
        } catch (AssertionError | RuntimeException e) {
            process.destroyForcibly();
            throw e;
        }
        return process;
    }

    private static String reserve(Http http, int cpus) {
        Http.Response response = http.postJson("/v1/reservations",
                "{\"account\":\"" + ACCOUNT + "\",\"resources\":{\"CPUA\":" + cpus + "}}");
        assertThat(response.status()).as(response.toString()).isEqualTo(201);
        return response.json().get("id").asText();
    }

    private long used(Client raw) {
        return TestCoordinators.counter(raw, namespace, ACCOUNT, "CPUA").get("used").asLong();
    }

    /**
     * Waits for the delete event of the abandoned reservation's record (its lease ended), watching from before the
     * first look, so that a delete in between is not missed; then it can no longer be ended.
     */
    private void awaitGone(Http other, Client raw, String id) throws Exception {
        io.etcd.jetcd.ByteSequence key = io.etcd.jetcd.ByteSequence.from(namespace + "/reservations/" + id,
                java.nio.charset.StandardCharsets.UTF_8);
        var look = raw.getKVClient().get(key).get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        java.util.concurrent.CompletableFuture<Void> deleted = new java.util.concurrent.CompletableFuture<>();
        try (var watcher = raw.getWatchClient().watch(key, io.etcd.jetcd.options.WatchOption.builder()
                .withRevision(look.getHeader().getRevision() + 1).build(), response -> response.getEvents().stream()
                .filter(e -> e.getEventType() == io.etcd.jetcd.watch.WatchEvent.EventType.DELETE)
                .findAny().ifPresent(e -> deleted.complete(null)))) {
            if (!look.getKvs().isEmpty()) {
                deleted.get(JAR_LEASE.plus(LEASE_EXPIRY_MARGIN).toMillis(), TimeUnit.MILLISECONDS);
            }
        }
        assertThat(other.post("/v1/reservations/" + id + "/finally").status()).isEqualTo(404);
    }
}
