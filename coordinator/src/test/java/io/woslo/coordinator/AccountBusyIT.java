package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A refresh behind a reservation left open used to wait a whole lease (a minute) and make every reservation of the
 * account fail with a 503 that blamed etcd. It now gives up within the operation timeout with 409 account_busy
 * naming the account, and reservations go on meanwhile.
 */
@WithEtcd
class AccountBusyIT {
    private final String namespace = TestCoordinators.freshNamespace("busy");
    private Coordinator coordinator;
    private Http http;

    @BeforeEach
    void start(EtcdCluster etcd) {
        coordinator = TestCoordinators.startSeed(etcd, namespace, List.of("lockLeaseTime: 30s", "operationTimeout: 2s"),
                List.of());
        http = new Http(coordinator.baseUrl());
    }

    @AfterEach
    void stop() {
        coordinator.close();
    }

    @Test
    void aRefreshBehindAnOpenReservationAnswersAccountBusyNamingTheAccount() {
        assertThat(http.post("/used_quota?account=busy&account=idle").status()).isEqualTo(204);
        Http.Response open = http.postJson("/v1/reservations", "{\"account\":\"busy\",\"resources\":{\"CPUA\":1}}");
        assertThat(open.status()).isEqualTo(201);

        Http.Response refresh = http.post("/used_quota?account=busy&account=idle");

        assertThat(refresh.status()).as(refresh.toString()).isEqualTo(409);
        assertThat(refresh.json().get("error").asText()).isEqualTo("account_busy");
        assertThat(refresh.json().get("accounts").has("busy")).isTrue();
        assertThat(refresh.json().get("accounts").has("idle")).as("refreshed").isFalse();
        assertThat(refresh.header("Retry-After")).isNull();

        Http.Response another = http.postJson("/v1/reservations", "{\"account\":\"busy\",\"resources\":{\"CPUA\":1}}");
        assertThat(another.status()).as("a reservation while the account is busy for refreshes").isEqualTo(201);
        String first = open.json().get("id").asText();
        String second = another.json().get("id").asText();
        assertThat(http.post("/v1/reservations/" + first + "/finally").status()).isEqualTo(204);
        assertThat(http.post("/v1/reservations/" + second + "/rollback").status()).isEqualTo(204);

        assertThat(http.post("/used_quota?account=busy").status()).isEqualTo(204);
    }
}
