package io.woslo.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code GET /v1/events} against a real etcd, behind a token: a client is told of a reservation made over HTTP (it
 * waits on the event itself), names arrive decoded, and when the client goes away the coordinator cancels its etcd
 * watch — shown by etcd's own count of watchers and by the coordinator's {@code woslo_events_watches}.
 */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleEventsIT {
    private static final String TOKEN = "events-token";
    private static final ObjectMapper JSON = new ObjectMapper();
    private Coordinator coordinator;
    private Http http;
    private EtcdCluster etcd;

    @BeforeAll
    void start(EtcdCluster cluster) {
        etcd = cluster;
        coordinator = TestCoordinators.start(cluster, TestCoordinators.freshNamespace("events"), TOKEN,
                TestCoordinators.SEED_RESOURCES);
        http = new Http(coordinator.baseUrl(), TOKEN);
    }

    @AfterAll
    void stop() {
        coordinator.close();
    }

    @Test
    void aClientIsToldOfAReservationAndOfItsEndWithTheNamesDecoded() throws IOException {
        String account = "<img src=x onerror=alert(1)>/" + UUID.randomUUID() + "%";
        try (Events events = Events.open(coordinator.baseUrl(), TOKEN)) {
            assertThat(events.status).isEqualTo(200);
            assertThat(events.headers).anyMatch(h -> h.toLowerCase(Locale.ROOT)
                    .startsWith("content-type: text/event-stream"));

            Http.Response made = http.postJson("/v1/reservations", "{\"account\":"
                    + JSON.valueToTree(account) + ",\"resources\":{\"CPUA\":1}}");
            assertThat(made.status()).as(made.toString()).isEqualTo(201);

            Map<String, JsonNode> seen = events.each(Map.of(
                    "quota", e -> e.path("kind").asText().equals("quota") && account.equals(e.path("account").asText()),
                    "lock", e -> e.path("kind").asText().equals("lock") && account.equals(e.path("account").asText()),
                    "reservation", e -> e.path("kind").asText().equals("reservation")
                            && account.equals(e.path("account").asText())));
            assertThat(seen.get("quota").toString()).isEqualTo("{\"kind\":\"quota\",\"account\":"
                    + JSON.valueToTree(account) + ",\"lock\":null}");
            assertThat(seen.get("lock").get("lock").asText()).isEqualTo("quota/" + account);
            assertThat(seen.get("reservation").get("lock").isNull()).isTrue();

            String id = made.json().get("id").asText();
            assertThat(http.post("/v1/reservations/" + id + "/rollback").status()).isEqualTo(204);
            events.each(Map.of("reservation", e -> e.path("kind").asText().equals("reservation")
                    && account.equals(e.path("account").asText())));
        }
    }

    @Test
    void theWatchIsCancelledInEtcdWhenTheClientGoesAway() throws IOException {
        Await.until("no stream left from another test", () -> coordinatorGauge("woslo_events_watches") == 0);
        long before = etcdWatchers();
        Events events = Events.open(coordinator.baseUrl(), TOKEN);
        assertThat(events.status).isEqualTo(200);
        assertThat(coordinatorGauge("woslo_events_streams")).isEqualTo(1);
        assertThat(coordinatorGauge("woslo_events_watches")).isEqualTo(1);
        Await.until("etcd serves the stream's watch", () -> etcdWatchers() == before + 1);

        events.close();

        Await.until("the coordinator cancelled the watch", () -> coordinatorGauge("woslo_events_watches") == 0);
        assertThat(coordinatorGauge("woslo_events_streams")).isZero();
        Await.until("etcd no longer serves the watch", () -> etcdWatchers() == before);
    }

    @Test
    void aStoppingCoordinatorEndsItsStreamsAtOnce() throws IOException {
        Coordinator second = TestCoordinators.start(etcd, TestCoordinators.freshNamespace("events-stop"), TOKEN,
                TestCoordinators.SEED_RESOURCES);
        try (Events events = Events.open(second.baseUrl(), TOKEN)) {
            long start = System.nanoTime();
            second.close();
            java.time.Duration took = java.time.Duration.ofNanos(System.nanoTime() - start);
            assertThat(took).as("not held for the shutdown's grace period by the open stream")
                    .isLessThan(HttpVerticle.SHUTDOWN_GRACE);
            assertThat(events.rest()).as("the stream ended").doesNotContain("event:");
        }
    }

    @Test
    void withoutTheTokenItIs401AndHeadAnswersTheHeadOnly() {
        RawHttp raw = new RawHttp(coordinator.baseUrl());
        RawHttp.Response refused = raw.send("GET /v1/events HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assertThat(refused.status()).isEqualTo(401);
        RawHttp.Response head = raw.send("HEAD /v1/events HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " + TOKEN
                + "\r\nConnection: close\r\n\r\n");
        assertThat(head.status()).isEqualTo(200);
        assertThat(head.header("Content-Type")).startsWith("text/event-stream");
        assertThat(head.body()).isEmpty();
        RawHttp.Response post = raw.send("POST /v1/events HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " + TOKEN
                + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        assertThat(post.status()).isEqualTo(405);
        assertThat(post.header("Allow")).isEqualTo("GET, HEAD");
    }

    // -----------------------------------------------------------------------------------------------------------

    private long etcdWatchers() {
        return metric(etcd.endpoints().get(0) + "/metrics", null, "etcd_debugging_mvcc_watcher_total");
    }

    private long coordinatorGauge(String name) {
        return metric(coordinator.baseUrl() + "/metrics", TOKEN, name);
    }

    private static long metric(String url, String token, String name) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(TestTimeouts.step());
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        try {
            String body = HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString())
                    .body();
            return body.lines().filter(line -> line.startsWith(name + " ") || line.startsWith(name + "{"))
                    .mapToLong(line -> (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                    .findFirst().orElseThrow(() -> new AssertionError(url + " reports no " + name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** A stream read by hand on a socket: its head, then its events; closing it closes the connection. */
    static final class Events implements AutoCloseable {
        final Socket socket;
        final BufferedReader in;
        final int status;
        final List<String> headers = new ArrayList<>();

        private Events(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), UTF_8));
            String statusLine = in.readLine();
            this.status = Integer.parseInt(statusLine.split(" ", 3)[1]);
            for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
                headers.add(line);
            }
            if (status == 200) {
                awaitLine(": watching");
            }
        }

        static Events open(String baseUrl, String token) throws IOException {
            URI uri = URI.create(baseUrl);
            Socket socket = new Socket(uri.getHost(), uri.getPort());
            socket.setSoTimeout((int) TestTimeouts.step().toMillis());
            socket.getOutputStream().write(("GET /v1/events HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n"
                    + "Authorization: Bearer " + token + "\r\n\r\n").getBytes(UTF_8));
            socket.getOutputStream().flush();
            return new Events(socket);
        }

        private void awaitLine(String wanted) throws IOException {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.equals(wanted)) {
                    return;
                }
            }
            throw new AssertionError("the stream ended before '" + wanted + "'");
        }

        /**
         * Reads {@code change} events until each of {@code wanted} has accepted one, in whatever order they come
         * (others are skipped); returns the first each accepted. Fails when the socket's read timeout (one step)
         * passes first.
         */
        Map<String, JsonNode> each(Map<String, Predicate<JsonNode>> wanted) throws IOException {
            Map<String, JsonNode> seen = new TreeMap<>();
            String event = null;
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.startsWith("event: ")) {
                    event = line.substring("event: ".length());
                } else if (line.startsWith("data: ")) {
                    JsonNode data = JSON.readTree(line.substring("data: ".length()));
                    assertThat(event).isEqualTo("change");
                    wanted.forEach((name, test) -> {
                        if (!seen.containsKey(name) && test.test(data)) {
                            seen.put(name, data);
                        }
                    });
                    if (seen.keySet().equals(wanted.keySet())) {
                        return seen;
                    }
                }
            }
            throw new AssertionError("the stream ended before the events " + wanted.keySet() + "; seen " + seen);
        }

        /** Everything left until the server ends the stream (fails when it does not within one step). */
        String rest() throws IOException {
            StringBuilder out = new StringBuilder();
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                out.append(line).append('\n');
            }
            return out.toString();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
