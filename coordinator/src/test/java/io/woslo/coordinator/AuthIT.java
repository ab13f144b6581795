package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** A configured bearer token guards every endpoint but /health. */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthIT {
    private static final String TOKEN = "s3cret-token";
    private Coordinator coordinator;
    private Http anonymous;

    @BeforeAll
    void start(EtcdCluster etcd) {
        coordinator = TestCoordinators.start(etcd, TestCoordinators.freshNamespace("auth"), TOKEN,
                TestCoordinators.SEED_RESOURCES);
        anonymous = new Http(coordinator.baseUrl());
    }

    @AfterAll
    void stop() {
        coordinator.close();
    }

    @Test
    void missingOrWrongTokensGet401AndTheRightOneGetsThrough() {
        for (Http client : new Http[] {anonymous, anonymous.withToken("wrong"), anonymous.withToken(TOKEN + "x"),
                anonymous.withToken("")}) {
            for (Http.Response response : new Http.Response[] {client.get("/used_quota?account=a"),
                    client.get("/metrics"), client.post("/used_quota?account=a"),
                    client.postJson("/v1/reservations", "{\"account\":\"a\",\"resources\":{\"CPUA\":1}}"),
                    client.post("/v1/reservations/some-id/finally")}) {
                assertThat(response.status()).as(response.toString()).isEqualTo(401);
                assertThat(response.json().get("error").asText()).isEqualTo("unauthorized");
                assertThat(response.header("WWW-Authenticate")).isEqualTo("Bearer");
            }
        }
        Http authorized = anonymous.withToken(TOKEN);
        assertThat(authorized.get("/used_quota?account=a").status()).isEqualTo(200);
        assertThat(authorized.get("/metrics").status()).isEqualTo(200);
        assertThat(authorized.post("/v1/reservations/unknown-id/finally").status()).isEqualTo(404);
    }

    @Test
    void healthIsOpenWithoutAToken() {
        for (String path : new String[] {"/health", "/health/live", "/health/ready"}) {
            Http.Response health = anonymous.get(path);
            assertThat(health.status()).as(path + ": " + health).isEqualTo(200);
            assertThat(health.json().get("status").asText()).isEqualTo("UP");
        }
        assertThat(anonymous.get("/health/other").status()).as("only the probes are open").isEqualTo(401);
    }
}
