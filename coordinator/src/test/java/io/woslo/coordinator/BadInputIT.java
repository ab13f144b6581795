package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Each kind of bad request gets its status and a JSON error, and etcd shows that nothing changed. */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputIT {
    private static final String ACCOUNT = "account1";
    private final String namespace = TestCoordinators.freshNamespace("bad");
    private Coordinator coordinator;
    private Http http;
    private Client raw;
    private String counterBefore;

    @BeforeAll
    void start(EtcdCluster etcd, Client client) {
        coordinator = TestCoordinators.start(etcd, namespace, null, TestCoordinators.SEED_RESOURCES);
        http = new Http(coordinator.baseUrl());
        raw = client;
        assertThat(http.post("/used_quota?account=" + ACCOUNT).status()).isEqualTo(204);
        counterBefore = TestCoordinators.counter(raw, namespace, ACCOUNT, "CPUA").toString();
    }

    @AfterAll
    void stop() {
        coordinator.close();
    }

    @ParameterizedTest(name = "{0}: {1} -> {3}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "/v1/reservations | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1` | application/json | 400"
            + " | bad_request",
        "/v1/reservations | `[1,2]` | application/json | 400 | bad_request",
        "/v1/reservations | `{\"account\":\"account1\",\"resources\":{\"CPUA\":\"x\"}}` | application/json | 400"
            + " | bad_request",
        "/v1/reservations | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1.5}}` | application/json | 400"
            + " | bad_request",
        "/v1/reservations | `{\"account\":7,\"resources\":{\"CPUA\":1}}` | application/json | 400 | bad_request",
        "/v1/reservations | `{\"account\":\"account1\",\"resources\":[1]}` | application/json | 400 | bad_request",
        "/v1/reservations | `{\"account\":\"account1\"}` | application/json | 400 | bad_request",
        "/v1/reservations | `{\"account\":\"\",\"resources\":{\"CPUA\":1}}` | application/json | 400 | bad_request",
        "/v1/reservations | `{\"account\":\"account1\",\"resources\":{\"CPUA\":-1}}` | application/json | 400"
            + " | bad_request",
        "/v1/reservations | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1,\"NOPE\":1}}` | application/json"
            + " | 400 | bad_request",
        "/v1/reservations | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1}}` | text/plain | 415"
            + " | unsupported_media_type",
        "/v1/reservations | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1}}` | | 415 | unsupported_media_type",
        "/v1/usage/clean | `{\"account\":\"account1\",\"resources\":{\"CPUA\":-2}}` | application/json | 400"
            + " | bad_request",
        "/v1/usage/clean | `{\"account\":\"account1\",\"resources\":{\"CPUA\":100}}` | application/json | 409"
            + " | quota_abnormal",
        "/v1/rollbacks | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1},\"errorTime\":\"yesterday\"}`"
            + " | application/json | 400 | bad_request",
        "/v1/rollbacks"
            + " | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1},\"errorTime\":\"2999-01-01T00:00:00Z\"}`"
            + " | application/json | 400 | bad_request",
        "/v1/rollbacks"
            + " | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1}"
            + ",\"errorTime\":\"-999999999-01-01T00:00:00Z\"}` | application/json | 400 | bad_request",
        "/v1/reservations | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1}}trailing-garbage`"
            + " | application/json | 400 | bad_request",
        "/v1/reservations | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1}} {\"a\":1}` | application/json"
            + " | 400 | bad_request",
        "/v1/reservations | `{\"account\":\"account2\",\"account\":\"account1\",\"resources\":{\"CPUA\":1}}`"
            + " | application/json | 400 | bad_request",
        "/v1/reservations | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1,\"CPUA\":2}}` | application/json"
            + " | 400 | bad_request",
        "/v1/usage/clean | `{\"account\":\"account1\",\"resources\":{\"CPUA\":1}}]` | application/json | 400"
            + " | bad_request",
        "/v1/nothing | `{}` | application/json | 404 | not_found",
    })
    void badRequestsAreRefusedWithAJsonErrorAndChangeNothing(String path, String body, String contentType,
                                                             int status, String code) {
        Http.Response response = http.post(path, contentType, body);
        assertRefused(response, status, code);
    }

    @Test
    void anOversizeBodyIs413() {
        String big = "{\"account\":\"account1\",\"resources\":{\"CPUA\":1},\"pad\":\"" + "x".repeat(70_000) + "\"}";
        assertRefused(http.postJson("/v1/reservations", big), 413, "payload_too_large");
    }

    @Test
    void unknownReservationIdsAre404() {
        assertRefused(http.post("/v1/reservations/no-such-id/finally"), 404, "not_found");
        assertRefused(http.post("/v1/reservations/no-such-id/rollback"), 404, "not_found");
        assertRefused(http.get("/no/such/route"), 404, "not_found");
    }

    @Test
    void anEmptyAccountInTheQueryIs400() {
        assertRefused(http.get("/used_quota?account="), 400, "bad_request");
    }

    private void assertRefused(Http.Response response, int status, String code) {
        assertThat(response.status()).as(response.toString()).isEqualTo(status);
        JsonNode json = response.json();
        assertThat(json.get("error").asText()).isEqualTo(code);
        assertThat(json.get("message").asText()).isNotBlank();
        assertThat(TestCoordinators.counter(raw, namespace, ACCOUNT, "CPUA").toString()).as("counter unchanged")
                .isEqualTo(counterBefore);
        assertThat(TestCoordinators.counter(raw, namespace, ACCOUNT, "NOPE")).isNull();
        assertThat(TestCoordinators.keysUnder(raw, namespace + "/locks/")).as("no lock held").isZero();
        assertThat(TestCoordinators.keysUnder(raw, namespace + "/reservations/")).as("no reservation").isZero();
    }
}
