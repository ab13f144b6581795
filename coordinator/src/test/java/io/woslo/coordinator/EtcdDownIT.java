package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** With etcd unreachable the coordinator still answers: 503 with Retry-After, JSON errors, no hang. */
class EtcdDownIT {
    @Test
    void healthAndReservationsAnswer503WhenEtcdIsUnreachable() throws IOException {
        int closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        CoordinatorConfig config = TestCoordinators.config("""
                http: { host: 127.0.0.1, port: 0 }
                etcd: { endpoints: ["http://127.0.0.1:%d"], namespace: /down }
                quota: { resources: { CPUA: { source: static, used: 1, quota: 5 } } }
                """.formatted(closed));
        try (Coordinator coordinator = Coordinator.start(config, Path.of("target"))) {
            Http http = new Http(coordinator.baseUrl());
            Http.Response health = http.get("/health");
            assertThat(health.status()).isEqualTo(503);
            assertThat(health.json().get("status").asText()).isEqualTo("DOWN");
            assertThat(health.json().get("checks").get(0).get("status").asText()).isEqualTo("DOWN");
            assertThat(http.get("/health/live").status()).as("liveness never asks etcd").isEqualTo(200);

            Http.Response reserve = http.postJson("/v1/reservations",
                    "{\"account\":\"a\",\"resources\":{\"CPUA\":1}}");
            assertThat(reserve.status()).as(reserve.toString()).isEqualTo(503);
            assertThat(reserve.json().get("error").asText()).isEqualTo("unavailable");
            assertThat(reserve.header("Retry-After")).isEqualTo("1");
        }
    }
}
