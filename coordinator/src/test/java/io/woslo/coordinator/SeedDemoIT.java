package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.woslo.testing.WithEtcd;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The seed's demo (CPUA..CPUD with fixed figures) driven over HTTP against a real etcd. */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SeedDemoIT extends SeedCoordinatorSupport {
    SeedDemoIT() {
        super("seed");
    }

    @Test
    void reserveRefuseFinishRollbackAndRefreshAsInTheSeed() {
        String account = "account1";
        assertThat(http.post("/used_quota?account=" + account).status()).as("initial refresh").isEqualTo(204);
        assertThat(http.get("/used_quota?account=" + account + "&filter_error=1").json().size())
                .as("fresh counters match their sources").isZero();

        Http.Response made = reserve(account, "{\"CPUA\":1,\"CPUB\":2}");
        assertThat(made.status()).as(made.toString()).isEqualTo(201);
        assertThat(made.json().get("account").asText()).isEqualTo(account);
        assertThat(made.json().get("resources").toString()).isEqualTo("{\"CPUA\":1,\"CPUB\":2}");
        assertThat(made.json().get("expiresAt").asLong()).isGreaterThan(System.currentTimeMillis());
        String id = made.json().get("id").asText();

        Http.Response refused = reserve(account, "{\"CPUC\":3}");
        assertThat(refused.status()).as(refused.toString()).isEqualTo(409);
        assertThat(refused.json().get("error").asText()).isEqualTo("quota_exceeded");
        assertThat(refused.json().get("resource").asText()).isEqualTo("CPUC");
        assertThat(refused.json().get("requested").asLong()).isEqualTo(3);
        assertThat(refused.json().get("used").asLong()).isEqualTo(18);
        assertThat(refused.json().get("quota").asLong()).isEqualTo(20);
        assertThat(refused.json().get("message").asText()).contains("CPUC");

        Map<String, JsonNode> rows = rows(http.get("/used_quota?account=" + account).json().get(account));
        assertThat(rows).containsOnlyKeys("CPUA", "CPUB", "CPUC", "CPUD");
        assertThat(rows.get("CPUA").get("CacheUsed").asLong()).isEqualTo(11);
        assertThat(rows.get("CPUA").get("RealUsed").asLong()).isEqualTo(10);
        assertThat(rows.get("CPUA").get("IsError").asBoolean()).isTrue();
        assertThat(rows.get("CPUA").get("ErrorMsg").asText()).isNotEmpty();
        assertThat(rows.get("CPUA").get("HasLock").asText()).as("the open reservation holds the read lock")
                .isEqualTo("read");
        assertThat(rows.get("CPUC").get("IsError").asBoolean()).isFalse();
        assertThat(rows.get("CPUC").get("RefreshCacheTime").asLong()).isPositive();
        assertThat(rows(http.get("/used_quota?account=" + account + "&filter_error=1").json().get(account)))
                .as("filter_error=1 hides matching rows").containsOnlyKeys("CPUA", "CPUB");

        assertThat(http.post("/v1/reservations/" + id + "/finally").status()).isEqualTo(204);
        assertThat(http.post("/v1/reservations/" + id + "/finally").status()).as("already ended").isEqualTo(404);
        assertThat(http.post("/v1/reservations/" + id + "/rollback").status()).as("already ended").isEqualTo(404);

        String second = reserve(account, "{\"CPUA\":2}").json().get("id").asText();
        assertThat(TestCoordinators.counter(raw, namespace, account, "CPUA").get("used").asLong()).isEqualTo(13);
        assertThat(http.post("/v1/reservations/" + second + "/rollback").status()).isEqualTo(204);
        assertThat(http.post("/v1/reservations/" + second + "/rollback").status()).isEqualTo(404);
        assertThat(TestCoordinators.counter(raw, namespace, account, "CPUA").get("used").asLong())
                .as("the finished reservation stays counted, the rolled back one is given back").isEqualTo(11);

        assertThat(http.post("/used_quota?account=" + account).status()).isEqualTo(204);
        assertThat(TestCoordinators.counter(raw, namespace, account, "CPUA").get("used").asLong())
                .as("the refresh brings the cache back to the source").isEqualTo(10);
        assertThat(http.get("/used_quota?account=" + account + "&filter_error=1").json().has(account))
                .as("nothing to show for the account after the refresh").isFalse();
        assertThat(http.get("/used_quota").json().has(account)).as("recently refreshed accounts are listed").isTrue();
    }

    @Test
    void cleanAndLaterRollbackLowerTheCounters() {
        String account = "account2";
        assertThat(http.post("/used_quota?account=" + account).status()).isEqualTo(204);
        String id = reserve(account, "{\"CPUB\":5}").json().get("id").asText();
        assertThat(http.post("/v1/reservations/" + id + "/finally").status()).isEqualTo(204);

        assertThat(http.postJson("/v1/usage/clean", "{\"account\":\"" + account + "\",\"resources\":{\"CPUB\":2}}")
                .status()).isEqualTo(204);
        assertThat(TestCoordinators.counter(raw, namespace, account, "CPUB").get("used").asLong()).isEqualTo(3);
        assertThat(http.postJson("/v1/rollbacks", "{\"account\":\"" + account + "\",\"resources\":{\"CPUB\":1},"
                + "\"errorTime\":\"" + java.time.Instant.now() + "\"}").status()).isEqualTo(204);
        assertThat(TestCoordinators.counter(raw, namespace, account, "CPUB").get("used").asLong()).isEqualTo(2);

        Http.Response abnormal = http.postJson("/v1/usage/clean",
                "{\"account\":\"" + account + "\",\"resources\":{\"CPUB\":3}}");
        assertThat(abnormal.status()).as(abnormal.toString()).isEqualTo(409);
        assertThat(abnormal.json().get("error").asText()).isEqualTo("quota_abnormal");
        assertThat(TestCoordinators.counter(raw, namespace, account, "CPUB").get("used").asLong())
                .as("nothing changed").isEqualTo(2);
    }

    @Test
    void healthAndMetricsAnswer() {
        Http.Response health = http.get("/health");
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.json().get("status").asText()).isEqualTo("UP");
        assertThat(health.json().get("checks").get(0).get("name").asText()).isEqualTo("etcd");
        assertThat(health.json().get("checks").get(0).get("status").asText()).isEqualTo("UP");

        Http.Response metrics = http.get("/metrics");
        assertThat(metrics.status()).isEqualTo(200);
        assertThat(metrics.header("Content-Type")).startsWith("text/plain");
        assertThat(metrics.body()).contains("woslo_http_requests_seconds_count{method=\"GET\",route=\"/health\","
                + "status=\"200\"}");
    }

    private Http.Response reserve(String account, String resources) {
        return http.postJson("/v1/reservations", "{\"account\":\"" + account + "\",\"resources\":" + resources + "}");
    }

    private static Map<String, JsonNode> rows(JsonNode list) {
        Map<String, JsonNode> out = new HashMap<>();
        if (list != null) {
            list.forEach(row -> out.put(row.get("ResourceName").asText(), row));
        }
        return out;
    }
}
