package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Two coordinator instances on one etcd and one namespace: they share every reservation and counter. */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TwoCoordinatorsIT {
    private static final int QUOTA = 50;
    private static final String RESOURCES = "GPU: { source: ledger, quota: " + QUOTA + ", quotas: { vip: 3 } }\n"
            + "CPUA: { source: static, used: 10, quota: 20 }\n";

    private final String namespace = TestCoordinators.freshNamespace("two");
    private Coordinator first;
    private Coordinator second;
    private Http one;
    private Http two;
    private Client raw;

    @BeforeAll
    void start(EtcdCluster etcd, Client client) {
        first = TestCoordinators.start(etcd, namespace, null, RESOURCES);
        second = TestCoordinators.start(etcd, namespace, null, RESOURCES);
        one = new Http(first.baseUrl());
        two = new Http(second.baseUrl());
        raw = client;
    }

    @AfterAll
    void stop() {
        first.close();
        second.close();
    }

    @Test
    void aReservationMadeOnOneInstanceIsEndedOnTheOther() {
        String account = "shared";
        assertThat(one.post("/used_quota?account=" + account).status()).isEqualTo(204);

        String kept = reserve(one, account, 1).json().get("id").asText();
        assertThat(two.post("/v1/reservations/" + kept + "/finally").status()).isEqualTo(204);
        assertThat(one.post("/v1/reservations/" + kept + "/finally").status()).as("ended by the other").isEqualTo(404);

        String undone = reserve(two, account, 2).json().get("id").asText();
        assertThat(TestCoordinators.counter(raw, namespace, account, "CPUA").get("used").asLong()).isEqualTo(13);
        assertThat(one.post("/v1/reservations/" + undone + "/rollback").status()).isEqualTo(204);
        assertThat(two.post("/v1/reservations/" + undone + "/rollback").status()).isEqualTo(404);
        assertThat(TestCoordinators.counter(raw, namespace, account, "CPUA").get("used").asLong()).isEqualTo(11);
        assertThat(TestCoordinators.keysUnder(raw, namespace + "/reservations/")).isZero();
    }

    @Test
    void concurrentReservationsOnBothInstancesNeverExceedTheQuota() throws Exception {
        String account = "racer";
        assertThat(one.post("/used_quota?account=" + account).status()).isEqualTo(204);
        int threads = 8;
        int attempts = 200;
        AtomicInteger next = new AtomicInteger();
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> workers = IntStream.range(0, threads).<Future<?>>mapToObj(t -> pool.submit(() -> {
                while (next.getAndIncrement() < attempts) {
                    Http client = t % 2 == 0 ? one : two;
                    Http.Response response = client.postJson("/v1/reservations",
                            "{\"account\":\"" + account + "\",\"resources\":{\"GPU\":1}}");
                    statuses.computeIfAbsent(response.status(), s -> new AtomicInteger()).incrementAndGet();
                    if (response.status() == 201) {
                        Http other = client == one ? two : one;
                        assertThat(other.post("/v1/reservations/" + response.json().get("id").asText() + "/finally")
                                .status()).isEqualTo(204);
                    }
                }
            })).toList();
            for (Future<?> worker : workers) {
                worker.get(TestTimeouts.step().multipliedBy(3).toMillis(), TimeUnit.MILLISECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(statuses.keySet()).as("only granted or refused: %s", statuses).containsOnly(201, 409);
        assertThat(statuses.get(201).get()).as("granted reservations").isEqualTo(QUOTA);
        assertThat(statuses.get(409).get()).isEqualTo(attempts - QUOTA);
        assertThat(TestCoordinators.counter(raw, namespace, account, "GPU").get("used").asLong()).isEqualTo(QUOTA);
        assertThat(TestCoordinators.counter(raw, namespace, account, "GPU").get("quota").asLong()).isEqualTo(QUOTA);
    }

    @Test
    void theLedgerTakesPerAccountQuotasAndKeepsItsUseAcrossRefreshes() {
        String account = "vip";
        assertThat(one.post("/used_quota?account=" + account).status()).isEqualTo(204);
        for (int i = 0; i < 3; i++) {
            String id = reserve(i % 2 == 0 ? one : two, account, "GPU", 1).json().get("id").asText();
            assertThat(two.post("/v1/reservations/" + id + "/finally").status()).isEqualTo(204);
        }
        assertThat(reserve(one, account, "GPU", 1).status()).isEqualTo(409);
        assertThat(two.post("/used_quota?account=" + account).status()).isEqualTo(204);
        assertThat(TestCoordinators.counter(raw, namespace, account, "GPU").get("used").asLong())
                .as("the ledger is the record of use: a refresh keeps it").isEqualTo(3);
        assertThat(one.get("/used_quota?account=" + account + "&filter_error=1").json().has(account)).isFalse();
    }

    private static Http.Response reserve(Http http, String account, int cpus) {
        return reserve(http, account, "CPUA", cpus);
    }

    private static Http.Response reserve(Http http, String account, String resource, int amount) {
        Http.Response response = http.postJson("/v1/reservations",
                "{\"account\":\"" + account + "\",\"resources\":{\"" + resource + "\":" + amount + "}}");
        assertThat(response.status()).as(response.toString()).isIn(201, 409);
        return response;
    }
}
