package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import org.junit.jupiter.api.Test;

/**
 * Liveness never depends on etcd, readiness follows it: with the test's etcd stopped {@code /health/live} stays
 * 200 while {@code /health/ready} and {@code /health} answer 503, and once etcd is back they answer 200 again.
 */
@WithEtcd
class HealthIT {
    private static final String UP = "{\"status\":\"UP\",\"checks\":[{\"name\":\"etcd\",\"status\":\"UP\"}]}";
    private static final String DOWN = "{\"status\":\"DOWN\",\"checks\":[{\"name\":\"etcd\",\"status\":\"DOWN\"}]}";
    private static final String LIVE = "{\"status\":\"UP\",\"checks\":[]}";

    @Test
    void liveStaysUpWhileReadyFollowsEtcd(EtcdCluster etcd) {
        try (Coordinator coordinator = TestCoordinators.start(etcd, TestCoordinators.freshNamespace("health"), null,
                "CPUA: { source: static, used: 1, quota: 5 }")) {
            Http http = new Http(coordinator.baseUrl());
            assertAnswer(http.get("/health/live"), 200, LIVE);
            assertAnswer(http.get("/health/ready"), 200, UP);
            assertAnswer(http.get("/health"), 200, UP);

            etcd.member(0).stop();
            assertAnswer(http.get("/health/live"), 200, LIVE);
            Http.Response ready = http.get("/health/ready");
            assertAnswer(ready, 503, DOWN);
            assertThat(ready.header("Retry-After")).isEqualTo(ErrorMapper.RETRY_AFTER_SECONDS);
            assertAnswer(http.get("/health"), 503, DOWN);
            assertAnswer(http.get("/health/live"), 200, LIVE);

            etcd.member(0).restart();
            // The client reconnects on its own schedule: readiness is polled until it says so, within a bound.
            Await.until("/health/ready answers 200 once etcd is back", TestTimeouts.etcdStart(),
                    () -> http.get("/health/ready").status() == 200);
            assertAnswer(http.get("/health/ready"), 200, UP);
            assertAnswer(http.get("/health"), 200, UP);
        }
    }

    private static void assertAnswer(Http.Response response, int status, String body) {
        assertThat(response.status()).as(response.toString()).isEqualTo(status);
        assertThat(response.header("Content-Type")).isEqualTo("application/json");
        assertThat(response.body()).isEqualTo(body);
    }
}
