package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Requests found by probing a running coordinator (issue 12 §5): each is answered with a bounded, JSON 4xx and
 * writes nothing to etcd (a raw read of the namespace before and after each test is the same).
 */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpHardeningIT {
    private static final String TOKEN = "hardening-token";
    private static final String FORM = "application/x-www-form-urlencoded";
    private static final Set<String> METHODS = Set.of("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH",
            "other");
    private static final Set<String> ROUTES = Set.of("/used_quota", "/v1/reservations", "/v1/reservations/:id",
            "/v1/reservations/:id/finally", "/v1/reservations/:id/rollback", "/v1/reservations/:id/extend",
            "/v1/usage/clean", "/v1/rollbacks", "/health", "/metrics", "unmatched");
    private static final Pattern SERIES = Pattern.compile("^woslo_http_requests_seconds_count\\{(.*)} ",
            Pattern.MULTILINE);

    private final String namespace = TestCoordinators.freshNamespace("hardening");
    private Coordinator coordinator;
    private Http http;
    private RawHttp raw;
    private Client etcd;
    private SortedMap<String, String> before;

    @BeforeAll
    void start(EtcdCluster cluster, Client client) {
        String yaml = "http: { host: 127.0.0.1, port: 0, token: " + TOKEN + " }\n"
                + "etcd: { endpoints: \"" + cluster.endpointList() + "\", namespace: " + namespace + " }\n"
                + "quota:\n  operationTimeout: 2s\n  resources:\n" + TestCoordinators.SEED_RESOURCES.indent(4);
        coordinator = Coordinator.start(TestCoordinators.config(yaml), Path.of("target"));
        http = new Http(coordinator.baseUrl(), TOKEN);
        raw = new RawHttp(coordinator.baseUrl());
        etcd = client;
        assertThat(http.post("/used_quota?account=account1").status()).isEqualTo(204);
    }

    @AfterAll
    void stop() {
        coordinator.close();
    }

    @BeforeEach
    void readNamespace() {
        before = TestCoordinators.snapshot(etcd, namespace);
        assertThat(before).as("the account's counters").isNotEmpty();
    }

    @AfterEach
    void namespaceUnchanged() {
        assertThat(TestCoordinators.snapshot(etcd, namespace)).as("etcd after the test").isEqualTo(before);
    }

    @Test
    void inventedMethodsAndPathsCreateNoMetricSeries() {
        for (int i = 0; i < 100; i++) {
            RawHttp.Response anonymous = raw.send("INVENTED" + i + " /invented/" + i + " HTTP/1.1\r\nHost: h\r\n"
                    + "Connection: close\r\n\r\n");
            assertThat(anonymous.status()).as(anonymous.toString()).isEqualTo(401);
            RawHttp.Response known = raw.send("INVENTED" + i + " /used_quota HTTP/1.1\r\nHost: h\r\n"
                    + "Authorization: Bearer " + TOKEN + "\r\nConnection: close\r\n\r\n");
            assertThat(known.status()).as(known.toString()).isBetween(400, 499);
            assertThat(http.get("/invented/" + i).status()).isEqualTo(404);
        }
        String metrics = http.get("/metrics").body();
        Set<String> series = new HashSet<>();
        Set<String> methods = new HashSet<>();
        Set<String> routes = new HashSet<>();
        Matcher matcher = SERIES.matcher(metrics);
        while (matcher.find()) {
            series.add(matcher.group(1));
            methods.add(label(matcher.group(1), "method"));
            routes.add(label(matcher.group(1), "route"));
        }
        assertThat(methods).isSubsetOf(METHODS).contains("other");
        assertThat(routes).isSubsetOf(ROUTES).contains("unmatched");
        assertThat(series).as("series of woslo_http_requests_seconds").hasSizeLessThan(20);
    }

    @ParameterizedTest(name = "{0} with a form body")
    @ValueSource(strings = {"GET /health", "OPTIONS /health", "GET /used_quota?account=account1",
        "OPTIONS /used_quota", "INVENTED /used_quota"})
    void aFormBodyOnAMethodThatTakesNoneIs400(String requestLine) {
        for (String type : new String[] {FORM, "multipart/form-data; boundary=x"}) {
            RawHttp.Response response = raw.send(requestLine + " HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer "
                    + TOKEN + "\r\nContent-Type: " + type + "\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=b");
            assertJsonError(response, 400, "bad_request");
        }
    }

    @Test
    void aFormBodyOnHeadIs400WithoutAToken() {
        RawHttp.Response response = raw.send("HEAD /health HTTP/1.1\r\nHost: h\r\nContent-Type: " + FORM
                + "\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=b");
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.header("Content-Type")).isEqualTo("application/json");
        assertThat(response.body()).isEmpty();
        assertJsonError(raw.send("GET /health HTTP/1.1\r\nHost: h\r\nContent-Type: " + FORM
                + "\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=b"), 400, "bad_request");
    }

    @Test
    void aBadPercentEscapeInTheQueryIs400() {
        assertJsonError(raw.send("GET /used_quota?account=%ZZ HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " + TOKEN
                + "\r\nConnection: close\r\n\r\n"), 400, "bad_request");
        assertJsonError(raw.send("POST /used_quota?account=%E0%A4%A HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer "
                + TOKEN + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), 400, "bad_request");
    }

    @Test
    void http11WithoutHostIs400() {
        assertJsonError(raw.send("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"), 400, "bad_request");
        assertJsonError(raw.send("POST /used_quota?account=account1 HTTP/1.1\r\nAuthorization: Bearer " + TOKEN
                + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), 400, "bad_request");
    }

    @Test
    void aWrongMethodOnAKnownPathIs405WithAllow() {
        assertAllow(http.post("/health"), "GET, HEAD");
        assertAllow(http.get("/v1/reservations/some-id/finally"), "POST");
        RawHttp.Response delete = raw.send("DELETE /v1/reservations HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer "
                + TOKEN + "\r\nConnection: close\r\n\r\n");
        assertJsonError(delete, 405, "method_not_allowed");
        assertThat(delete.header("Allow")).isEqualTo("GET, HEAD, POST");
    }

    @Test
    void headHealthIs200WithoutABody() {
        RawHttp.Response head = raw.send("HEAD /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assertThat(head.status()).as(head.toString()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
    }

    @Test
    void aTooLongUriIs414AndTooLargeHeadersAre431AsJson() {
        assertJsonError(raw.send("GET /used_quota?account=" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: h\r\n"
                + "Connection: close\r\n\r\n"), 414, "uri_too_long");
        assertJsonError(raw.send("GET /health HTTP/1.1\r\nHost: h\r\nX-Big: " + "b".repeat(20_000)
                + "\r\nConnection: close\r\n\r\n"), 431, "headers_too_large");
    }

    /**
     * Four connections that each must be closed at the idle bound: one that sends nothing, one whose headers stop
     * half-way, one whose headers trickle a byte every half second and never end, and an idle keep-alive connection
     * after its answer. They are probed at the same time, so the class waits out the bound once rather than four times.
     */
    @Test
    void idleConnectionsAndStalledHeadersAreClosed() {
        // a thread per probe, so that the four surely wait at the same time
        ExecutorService probes = Executors.newFixedThreadPool(4);
        try {
            idleConnectionsAreClosed(probes);
        } finally {
            probes.shutdownNow();
        }
    }

    private void idleConnectionsAreClosed(ExecutorService probes) {
        CompletableFuture<Boolean> silent = CompletableFuture.supplyAsync(() -> raw.closedAfterSending(""), probes);
        CompletableFuture<Boolean> halfHeaders = CompletableFuture.supplyAsync(
                () -> raw.closedAfterSending("GET /health HTTP/1.1\r\nHost: h\r\n"), probes);
        CompletableFuture<Boolean> trickled = CompletableFuture.supplyAsync(() -> raw.closedWhileTrickling(
                "GET /health HTTP/1.1\r\nHost: h\r\nX-Slow: ", Duration.ofMillis(500)), probes);
        CompletableFuture<Boolean> keptAlive = CompletableFuture.supplyAsync(
                () -> raw.closedAfterSending("GET /health HTTP/1.1\r\nHost: h\r\n\r\n"), probes);

        assertThat(silent.join()).as("a connection that sends nothing is closed").isTrue();
        assertThat(halfHeaders.join()).as("a connection whose headers stop half-way is closed").isTrue();
        assertThat(trickled.join())
                .as("a connection whose headers never end is closed though a byte comes every half second").isTrue();
        assertThat(keptAlive.join()).as("an idle keep-alive connection is closed after its answer").isTrue();
    }

    @Test
    void aRefreshWithABodyIs400AndRefreshesNothing() {
        assertJsonError(http.postJson("/used_quota", "{\"account\":\"account1\"}"), 400, "bad_request");
        assertJsonError(http.post("/used_quota?account=account1", FORM, "account=account1"), 400, "bad_request");
    }

    private static void assertAllow(Http.Response response, String allow) {
        assertThat(response.status()).as(response.toString()).isEqualTo(405);
        assertThat(response.json().get("error").asText()).isEqualTo("method_not_allowed");
        assertThat(response.header("Allow")).isEqualTo(allow);
    }

    private static void assertJsonError(Http.Response response, int status, String code) {
        assertThat(response.status()).as(response.toString()).isEqualTo(status);
        assertThat(response.header("Content-Type")).isEqualTo("application/json");
        assertThat(response.json().get("error").asText()).isEqualTo(code);
        assertThat(response.json().get("message").asText()).isNotBlank();
    }

    private static void assertJsonError(RawHttp.Response response, int status, String code) {
        assertThat(response.status()).as(response.toString()).isEqualTo(status);
        assertThat(response.header("Content-Type")).isEqualTo("application/json");
        assertThat(response.json().get("error").asText()).isEqualTo(code);
        assertThat(response.json().get("message").asText()).isNotBlank();
    }

    private static String label(String labels, String name) {
        Matcher value = Pattern.compile("(?:^|,)" + name + "=\"([^\"]*)\"").matcher(labels);
        return value.find() ? value.group(1) : null;
    }
}
