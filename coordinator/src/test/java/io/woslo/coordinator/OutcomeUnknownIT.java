package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.FaultInterceptor;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A release whose write etcd may have applied without telling used to answer 503 with Retry-After, so a client
 * retried {@code /v1/usage/clean} and gave back twice. It now answers 504 outcome_unknown, without Retry-After.
 */
@WithEtcd
class OutcomeUnknownIT {
    private final String namespace = TestCoordinators.freshNamespace("unknown");
    private final FaultInterceptor faults = new FaultInterceptor();
    private Coordinator coordinator;
    private Http http;

    @BeforeEach
    void start(EtcdCluster etcd) {
        // No health probe during the test, so the coordinator's calls to etcd come in a known order.
        coordinator = TestCoordinators.startSeed(etcd, namespace, List.of("operationTimeout: 4s",
                "healthCheckInterval: 1h"), List.of(faults));
        http = new Http(coordinator.baseUrl());
    }

    @AfterEach
    void stop() {
        faults.reset();
        coordinator.close();
    }

    @Test
    void aCleanWhoseWriteMayHaveLandedAnswers504WithoutRetryAfter(Client raw) throws Exception {
        assertThat(http.post("/used_quota?account=a").status()).isEqualTo(204);

        // Hold the clean's counter read; once held, lose the answers of the write and of its settlement.
        FaultInterceptor.Fault read = faults.hold(FaultInterceptor.KV_RANGE, 1);
        CompletableFuture<Http.Response> clean = CompletableFuture.supplyAsync(
                () -> http.postJson("/v1/usage/clean", "{\"account\":\"a\",\"resources\":{\"CPUA\":1}}"));
        assertThat(read.awaitInjected(1, TestTimeouts.step())).isTrue();
        faults.loseReply(FaultInterceptor.KV_TXN, 2);
        read.release();

        Http.Response answer = clean.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(answer.status()).as(answer.toString()).isEqualTo(504);
        assertThat(answer.json().get("error").asText()).isEqualTo("outcome_unknown");
        assertThat(answer.header("Retry-After")).isNull();
        assertThat(TestCoordinators.counter(raw, namespace, "a", "CPUA").get("used").asLong())
                .as("it did land: a blind retry would give back twice").isEqualTo(9);
    }
}
