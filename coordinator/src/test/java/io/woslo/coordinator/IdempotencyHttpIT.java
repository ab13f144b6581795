package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.FaultInterceptor;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tries to break the Idempotency-Key over HTTP with two coordinators on one namespace: racing duplicates, answers
 * lost between etcd and the coordinator then a retry on the other coordinator, keys reused with another body, and
 * the error answers of the reservation lifecycle.
 */
@WithEtcd
class IdempotencyHttpIT {
    private final String namespace = TestCoordinators.freshNamespace("idem");
    private final FaultInterceptor faults = new FaultInterceptor();
    private Coordinator a;
    private Coordinator b;
    private Http httpA;
    private Http httpB;

    @BeforeEach
    void start(EtcdCluster etcd) {
        List<String> settings = List.of("operationTimeout: 4s", "healthCheckInterval: 1h");
        a = TestCoordinators.startSeed(etcd, namespace, settings, List.of(faults));
        b = TestCoordinators.startSeed(etcd, namespace, settings, List.of());
        httpA = new Http(a.baseUrl());
        httpB = new Http(b.baseUrl());
    }

    @AfterEach
    void stop() {
        faults.reset();
        a.close();
        b.close();
    }

    private static String create(String account, int cpub) {
        return "{\"account\":\"" + account + "\",\"resources\":{\"CPUB\":" + cpub + "}}";
    }

    private long used(Client raw, String account) {
        var counter = TestCoordinators.counter(raw, namespace, account, "CPUB");
        return counter == null ? 0 : counter.get("used").asLong();
    }

    @Test
    void concurrentDuplicatesOnTwoCoordinatorsApplyOnceAndAnswerOneId(Client raw) throws Exception {
        assertThat(httpA.postJson("/v1/reservations", create("hot", 1), "warm").status()).isEqualTo(201);
        long base = used(raw, "hot");
        int threads = 12;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Http.Response>> answers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Http http = i % 2 == 0 ? httpA : httpB;
                answers.add(pool.submit(() -> {
                    go.await();
                    return http.postJson("/v1/reservations", create("hot", 3), "dup-key");
                }));
            }
            go.countDown();
            Set<String> ids = new HashSet<>();
            for (Future<Http.Response> answer : answers) {
                Http.Response response = answer.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
                assertThat(response.status()).as(response.toString()).isEqualTo(201);
                ids.add(response.json().get("id").asText());
            }
            assertThat(ids).hasSize(1);
            assertThat(used(raw, "hot")).isEqualTo(base + 3);
        } finally {
            pool.shutdownNow();
        }

        Http.Response reused = httpB.postJson("/v1/reservations", create("hot", 4), "dup-key");
        assertThat(reused.status()).as(reused.toString()).isEqualTo(422);
        assertThat(reused.json().get("error").asText()).isEqualTo("idempotency_key_reused");
        assertThat(used(raw, "hot")).as("nothing applied").isEqualTo(base + 3);
        assertThat(httpA.postJson("/v1/reservations", create("hot", 1), "bad key").status()).isEqualTo(400);
        assertThat(httpA.postJson("/v1/reservations", create("hot", 1), "x".repeat(256)).status()).isEqualTo(400);
        assertThat(used(raw, "hot")).isEqualTo(base + 3);
    }

    @Test
    void aCreateWhoseAnswerIsLostIsAnsweredOnceByTheOtherCoordinator(Client raw) throws Exception {
        // The first creates the counter (slow path); the second leaves the lane a view, so the next transaction of
        // the lane is the reservation's own commit.
        for (int i = 0; i < 2; i++) {
            assertThat(httpA.postJson("/v1/reservations", create("lost", 1), "w-" + i).status()).isEqualTo(201);
        }
        long base = used(raw, "lost");

        FaultInterceptor.Fault lost = faults.loseReply(FaultInterceptor.KV_TXN, 1);
        Http.Response first = httpA.postJson("/v1/reservations", create("lost", 2), "create-1");
        assertThat(lost.injected()).isEqualTo(1);
        assertThat(first.status()).as(first.toString()).isEqualTo(504);
        assertThat(used(raw, "lost")).as("it landed").isEqualTo(base + 2);

        Http.Response retry = httpB.postJson("/v1/reservations", create("lost", 2), "create-1");
        assertThat(retry.status()).as(retry.toString()).isEqualTo(201);
        String id = retry.json().get("id").asText();
        assertThat(httpA.postJson("/v1/reservations", create("lost", 2), "create-1").json().get("id").asText())
                .isEqualTo(id);
        assertThat(used(raw, "lost")).as("applied once").isEqualTo(base + 2);
        assertThat(httpA.get("/v1/reservations/" + id).status()).isEqualTo(200);

        // finally with a lost answer, retried with the key on the other coordinator: 204 both, given back once
        String keep = "{\"resources\":{\"CPUB\":1}}";
        faults.delayReply(FaultInterceptor.KV_TXN, Duration.ZERO, 1); // the end's read passes
        faults.loseReply(FaultInterceptor.KV_TXN, 2); // its write's answer and its settlement's are lost
        Http.Response end = httpA.postJson("/v1/reservations/" + id + "/finally", keep, "end-1");
        assertThat(end.status()).as(end.toString()).isIn(204, 504);
        faults.reset();
        assertThat(httpB.postJson("/v1/reservations/" + id + "/finally", keep, "end-1").status()).isEqualTo(204);
        assertThat(httpA.postJson("/v1/reservations/" + id + "/finally", keep, "end-1").status()).isEqualTo(204);
        assertThat(used(raw, "lost")).isEqualTo(base + 1);
        assertThat(httpB.postJson("/v1/reservations/" + id + "/finally", "{\"resources\":{\"CPUB\":2}}", "end-1")
                .status()).as("same key, another body").isEqualTo(422);
        assertThat(httpB.postJson("/v1/reservations/" + id + "/finally", keep, "end-2").status())
                .as("ended").isEqualTo(404);

        // rollback, the same way
        String other = httpB.postJson("/v1/reservations", create("lost", 5), null).json().get("id").asText();
        faults.delayReply(FaultInterceptor.KV_TXN, Duration.ZERO, 1);
        faults.loseReply(FaultInterceptor.KV_TXN, 2);
        assertThat(httpA.postJson("/v1/reservations/" + other + "/rollback", null, "rb-1").status()).isIn(204, 504);
        faults.reset();
        assertThat(httpB.postJson("/v1/reservations/" + other + "/rollback", null, "rb-1").status()).isEqualTo(204);
        assertThat(used(raw, "lost")).as("given back once").isEqualTo(base + 1);

        // clean: its write's answer and its settlement's lost (504), then the retry with the key on B
        FaultInterceptor.Fault read = faults.hold(FaultInterceptor.KV_RANGE, 1);
        CompletableFuture<Http.Response> clean = CompletableFuture.supplyAsync(() -> httpA.postJson("/v1/usage/clean",
                "{\"account\":\"lost\",\"resources\":{\"CPUB\":1}}", "clean-1"));
        assertThat(read.awaitInjected(1, TestTimeouts.step())).isTrue();
        faults.loseReply(FaultInterceptor.KV_TXN, 2);
        read.release();
        Http.Response cleaned = clean.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(cleaned.status()).as(cleaned.toString()).isIn(204, 504);
        faults.reset();
        assertThat(httpB.postJson("/v1/usage/clean", "{\"account\":\"lost\",\"resources\":{\"CPUB\":1}}", "clean-1")
                .status()).isEqualTo(204);
        assertThat(used(raw, "lost")).as("cleaned once").isEqualTo(base);
    }

    @Test
    void lifecycleErrorsAnswerTheirStatusAndChangeNothing(Client raw) {
        String unknown = UUID.randomUUID().toString();
        for (String end : List.of("/finally", "/rollback")) {
            assertThat(httpA.postJson("/v1/reservations/" + unknown + end, null, null).status()).isEqualTo(404);
        }
        assertThat(httpA.postJson("/v1/reservations/" + unknown + "/extend", "{\"seconds\":5}", null).status())
                .isEqualTo(404);
        assertThat(httpA.get("/v1/reservations/" + unknown).status()).isEqualTo(404);

        Http.Response made = httpA.postJson("/v1/reservations", create("err", 3), null);
        String id = made.json().get("id").asText();
        long used = used(raw, "err");
        for (String body : List.of("{\"resources\":{\"CPUB\":4}}", "{\"resources\":{\"CPUA\":1}}",
                "{\"resources\":{\"CPUB\":-1}}", "{\"resources\":{\"NOPE\":1}}")) {
            Http.Response refused = httpB.postJson("/v1/reservations/" + id + "/finally", body, null);
            assertThat(refused.status()).as(body + ": " + refused).isEqualTo(400);
        }
        assertThat(httpB.postJson("/v1/reservations/" + id + "/extend", "{\"seconds\":0}", null).status())
                .isEqualTo(400);
        assertThat(used(raw, "err")).as("nothing changed").isEqualTo(used);
        assertThat(httpB.get("/v1/reservations/" + id).status()).as("still open").isEqualTo(200);
        assertThat(httpB.postJson("/v1/reservations/" + id + "/extend", "{\"seconds\":120}", null).status())
                .isEqualTo(200);
        assertThat(httpB.postJson("/v1/reservations/" + id + "/finally", "{\"resources\":{\"CPUB\":2}}", null)
                .status()).isEqualTo(204);
        assertThat(used(raw, "err")).isEqualTo(used - 1);
        for (String end : List.of("/finally", "/rollback")) {
            assertThat(httpA.postJson("/v1/reservations/" + id + end, null, null).status()).isEqualTo(404);
        }
        assertThat(httpA.postJson("/v1/reservations/" + id + "/extend", "{\"seconds\":5}", null).status())
                .isEqualTo(404);
        assertThat(httpA.get("/v1/reservations/" + id).status()).isEqualTo(404);
        assertThat(used(raw, "err")).isEqualTo(used - 1);
    }
}
