package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code docs/openapi.yaml} against a coordinator on a real etcd, with a token configured: the router and the
 * description name the same operations, and real answers (successes and errors) have a status their operation
 * declares and a body that matches its schema. The seed's resources: CPUA 10 of 20, CPUB 0 of 20, CPUC 18 of 20,
 * CPUD 20 of 20.
 */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenApiIT {
    private static final String TOKEN = "openapi-token";
    private final OpenApiSpec spec = OpenApiSpec.load(OpenApiSpec.DOCS_FILE);
    /** The operations a real answer was checked for, as {@code "GET /health"}. */
    private final Set<String> checked = new TreeSet<>();
    private Coordinator coordinator;
    private RawHttp raw;

    private io.woslo.lock.RwLocks locks;

    @BeforeAll
    void start(EtcdCluster etcd, io.etcd.jetcd.Client client) {
        String namespace = TestCoordinators.freshNamespace("openapi");
        coordinator = TestCoordinators.start(etcd, namespace, TOKEN, TestCoordinators.SEED_RESOURCES);
        raw = new RawHttp(coordinator.baseUrl());
        locks = io.woslo.lock.RwLocks.builder(client).namespace(namespace).build();
    }

    @AfterAll
    void stop() {
        locks.close();
        coordinator.close();
    }

    @Test
    void everyRouteIsDescribedAndEveryDescribedOperationIsARoute() {
        Set<String> routed = new TreeSet<>();
        Set<String> heads = new TreeSet<>();
        for (Route route : coordinator.router().getRoutes()) {
            if (route.getPath() == null || route.methods() == null || route.methods().isEmpty()) {
                continue; // the handlers every request passes through, and the 405s of each path
            }
            String template = route.getPath().replaceAll(":([A-Za-z0-9_]+)", "{$1}");
            for (HttpMethod method : route.methods()) {
                (method == HttpMethod.HEAD ? heads : routed).add(method.name() + " " + template);
            }
        }
        assertThat(routed).contains("POST /v1/reservations/{id}/finally", "GET /openapi.yaml");
        assertThat(spec.operations()).as("the description's operations against the router's")
                .isEqualTo(routed);
        assertThat(heads).as("every GET answers HEAD too, as the description says, and only GETs")
                .isEqualTo(routed.stream().filter(op -> op.startsWith("GET ")).map(op -> "HEAD" + op.substring(3))
                        .collect(Collectors.toCollection(TreeSet::new)));
    }

    @Test
    void realAnswersMatchTheDescription() throws IOException {
        checked.clear();
        String account = "openapi-" + UUID.randomUUID();
        String key = UUID.randomUUID().toString();

        expect(204, "POST", "/used_quota", "/used_quota?account=" + account, null);
        expect(200, "GET", "/used_quota", "/used_quota?account=" + account, null);
        expect(200, "POST", "/v1/reservations", "/v1/reservations?dryRun=true",
                reservation(account, "{\"CPUA\":1,\"CPUB\":2}"));
        String id = expect(201, "POST", "/v1/reservations", "/v1/reservations",
                reservation(account, "{\"CPUA\":1,\"CPUB\":2}"), "Idempotency-Key: " + key)
                .json().get("id").asText();
        assertThat(expect(422, "POST", "/v1/reservations", "/v1/reservations",
                reservation(account, "{\"CPUA\":2}"), "Idempotency-Key: " + key).json().get("error").asText())
                .isEqualTo("idempotency_key_reused");
        expect(200, "GET", "/v1/reservations/{id}", "/v1/reservations/" + id, null);
        expect(200, "GET", "/v1/reservations", "/v1/reservations?account=" + account, null);
        expect(200, "GET", "/v1/accounts", "/v1/accounts?search=openapi-&limit=5", null);
        expect(400, "GET", "/v1/accounts", "/v1/accounts?limit=0", null);
        JsonNode view = expect(200, "GET", "/v1/accounts/{account}", "/v1/accounts/" + account + "?check=true",
                null).json();
        assertThat(view.get("reservations")).as("the open reservation shown").hasSize(1);
        assertThat(view.get("lock").get("holders")).as("its lock entry shown").hasSize(1);
        expect(200, "GET", "/v1/accounts/{account}", "/v1/accounts/" + account, null);
        expect(404, "GET", "/v1/accounts/{account}", "/v1/accounts/nobody-" + UUID.randomUUID(), null);
        expect(200, "GET", "/v1/locks/{key}", "/v1/locks/quota%2F" + account, null);
        String lockKey = "openapi-" + UUID.randomUUID();
        io.woslo.lock.DistributedLock held = locks.writeLock(lockKey, 7, java.time.Duration.ofSeconds(30));
        held.lock();
        String entry = expect(200, "GET", "/v1/locks/{key}", "/v1/locks/" + lockKey, null).json()
                .get("holders").get(0).get("entry").asText();
        expect(400, "DELETE", "/v1/locks/{key}/entries/{entry}", "/v1/locks/" + lockKey + "/entries/a%2F" + entry,
                null);
        expect(204, "DELETE", "/v1/locks/{key}/entries/{entry}", "/v1/locks/" + lockKey + "/entries/" + entry, null);
        expect(404, "DELETE", "/v1/locks/{key}/entries/{entry}", "/v1/locks/" + lockKey + "/entries/" + entry, null);
        held.unlock();
        try (ConsoleEventsIT.Events events = ConsoleEventsIT.Events.open(coordinator.baseUrl(), TOKEN)) {
            java.util.Map<String, String> headers = new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            events.headers.forEach(h -> headers.put(h.substring(0, h.indexOf(':')).trim(),
                    h.substring(h.indexOf(':') + 1).trim()));
            assertThat(events.status).isEqualTo(200);
            spec.check("GET", "/v1/events", 200, headers::get, "");
            checked.add("GET /v1/events");
        }
        expect(200, "POST", "/v1/reservations/{id}/extend", "/v1/reservations/" + id + "/extend",
                "{\"seconds\":600}");
        expect(204, "POST", "/v1/reservations/{id}/finally", "/v1/reservations/" + id + "/finally",
                "{\"resources\":{\"CPUB\":1}}");
        String other = expect(201, "POST", "/v1/reservations", "/v1/reservations",
                reservation(account, "{\"CPUA\":1}")).json().get("id").asText();
        expect(204, "POST", "/v1/reservations/{id}/rollback", "/v1/reservations/" + other + "/rollback", null);
        assertThat(expect(409, "POST", "/v1/reservations", "/v1/reservations",
                reservation(account, "{\"CPUC\":3}")).json().get("error").asText()).isEqualTo("quota_exceeded");
        expect(204, "POST", "/v1/usage/clean", "/v1/usage/clean", reservation(account, "{\"CPUA\":1}"));
        expect(204, "POST", "/v1/rollbacks", "/v1/rollbacks", "{\"account\":\"" + account
                + "\",\"resources\":{\"CPUB\":1},\"errorTime\":\"" + Instant.now() + "\"}");
        assertThat(expect(409, "POST", "/v1/usage/clean", "/v1/usage/clean",
                reservation(account, "{\"CPUB\":5}")).json().get("error").asText()).isEqualTo("quota_abnormal");

        expect(400, "POST", "/v1/reservations", "/v1/reservations", "{\"account\":");
        expect(400, "GET", "/v1/reservations", "/v1/reservations", null);
        expect(404, "GET", "/v1/reservations/{id}", "/v1/reservations/no-such-id", null);
        expect(404, "POST", "/v1/reservations/{id}/finally", "/v1/reservations/no-such-id/finally", null);
        expect(415, "POST", "/v1/usage/clean", "/v1/usage/clean", reservation(account, "{\"CPUA\":1}"),
                "Content-Type: text/plain");

        for (String path : new String[] {"/health", "/health/live", "/health/ready"}) {
            check("GET", path, 200, raw.send(request("GET", path, null, false)));
        }
        expect(200, "GET", "/metrics", "/metrics", null);
        RawHttp.Response served = expect(200, "GET", "/openapi.yaml", "/openapi.yaml", null);
        assertThat(served.body()).isEqualTo(Files.readString(OpenApiSpec.DOCS_FILE));

        assertThat(checked).as("every described operation got a real call").isEqualTo(spec.operations());
    }

    @Test
    void refusalsBeforeAnyHandlerMatchTheDescription() {
        check("GET", "/openapi.yaml", 401, raw.send(request("GET", "/openapi.yaml", null, false)));
        check("POST", "/v1/reservations", 401, raw.send(request("POST", "/v1/reservations", "{}", false)));
        check("GET", "/used_quota", 414, raw.send("GET /used_quota?account=" + "a".repeat(10_000)
                + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
        check("GET", "/health", 431, raw.send("GET /health HTTP/1.1\r\nHost: h\r\nX-Big: " + "b".repeat(20_000)
                + "\r\nConnection: close\r\n\r\n"));
        check("GET", "/health", 400, raw.send("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"));

        RawHttp.Response wrongMethod = raw.send(request("DELETE", "/v1/reservations/some-id", null, true));
        assertThat(wrongMethod.status()).as(wrongMethod.toString()).isEqualTo(405);
        spec.checkComponent("MethodNotAllowed", wrongMethod::header, wrongMethod.body());
        RawHttp.Response unknown = raw.send(request("GET", "/v2/nothing", null, true));
        assertThat(unknown.status()).as(unknown.toString()).isEqualTo(404);
        spec.checkComponent("NotFound", unknown::header, unknown.body());
    }

    private static String reservation(String account, String resources) {
        return "{\"account\":\"" + account + "\",\"resources\":" + resources + "}";
    }

    /**
     * Sends a request with the token, checks its answer against {@code method template}, and expects {@code status}.
     */
    private RawHttp.Response expect(int status, String method, String template, String target, String body,
                                    String... headers) {
        RawHttp.Response response = raw.send(request(method, target, body, true, headers));
        assertThat(response.status()).as(method + " " + target + ": " + response).isEqualTo(status);
        check(method, template, status, response);
        return response;
    }

    private void check(String method, String template, int status, RawHttp.Response response) {
        assertThat(response.status()).as(method + " " + template + ": " + response).isEqualTo(status);
        spec.check(method, template, response.status(), response::header, response.body());
        checked.add(method + " " + template);
    }

    /** One HTTP/1.1 request; a body is JSON unless {@code headers} name another Content-Type. */
    private static String request(String method, String target, String body, boolean withToken, String... headers) {
        StringBuilder out = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: h\r\n");
        if (withToken) {
            out.append("Authorization: Bearer ").append(TOKEN).append("\r\n");
        }
        boolean typed = false;
        for (String header : headers) {
            out.append(header).append("\r\n");
            typed |= header.regionMatches(true, 0, "Content-Type:", 0, 13);
        }
        if (body != null) {
            if (!typed) {
                out.append("Content-Type: application/json\r\n");
            }
            out.append("Content-Length: ").append(body.getBytes(StandardCharsets.UTF_8).length).append("\r\n");
        }
        return out.append("Connection: close\r\n\r\n").append(body == null ? "" : body).toString();
    }
}
