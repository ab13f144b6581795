package io.woslo.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.woslo.quota.QuotaManager;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * {@code POST /v1/reservations} then {@code POST /v1/reservations/{id}/finally} through the coordinator, spread over
 * 1,000 accounts like {@code reserve-spread}, from several {@link HttpClient}s (HTTP/1.1, keep-alive), so it shows
 * what HTTP and the stored reservation add to a library reservation. The coordinator serves one namespace for the
 * whole run, so each phase uses accounts of its own instead of a fresh namespace; they are loaded before timing.
 */
final class HttpReserveScenario {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int HTTP_CLIENTS = 4;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);
    private static final int ACCOUNTS = 1000;

    private HttpReserveScenario() {
    }

    static Scenario of(BenchEtcd etcd, CoordinatorProcess coordinator) {
        List<HttpClient> clients = new ArrayList<>();
        for (int i = 0; i < HTTP_CLIENTS; i++) {
            clients.add(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5)).build());
        }
        URI create = URI.create(coordinator.baseUrl() + "/v1/reservations");
        return new Scenario("http-reserve", "POST /v1/reservations + POST .../finally through the coordinator jar,"
                + " 1,000 accounts, " + HTTP_CLIENTS + " HTTP/1.1 clients", false, inFlight -> {
            List<String> accounts = Accounts.named(etcd.freshLabel("http-" + inFlight) + "-", ACCOUNTS);
            try (QuotaManager loader = ReserveScenario.manager(etcd.shared(), coordinator.namespace(),
                    List.of(CoordinatorProcess.RESOURCE))) {
                Accounts.load(loader, accounts);
            }
            Operation op = seq -> {
                HttpClient http = clients.get((int) (seq % HTTP_CLIENTS));
                String body = "{\"account\":\"" + accounts.get((int) (seq % ACCOUNTS)) + "\",\"resources\":{\""
                        + CoordinatorProcess.RESOURCE + "\":1}}";
                return send(http, post(create, body), 201)
                        .thenCompose(created -> send(http, post(URI.create(create + "/" + idOf(created) + "/finally"), ""), 204))
                        .thenApply(done -> 0);
            };
            return Workload.of(op);
        });
    }

    private static HttpRequest post(URI uri, String body) {
        return HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static CompletableFuture<String> send(HttpClient http, HttpRequest request, int expected) {
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenApply(response -> {
            if (response.statusCode() != expected) {
                throw new IllegalStateException(request.uri().getPath() + " answered " + response.statusCode()
                        + " (expected " + expected + "): " + response.body());
            }
            return response.body();
        });
    }

    private static String idOf(String createdBody) {
        try {
            String id = JSON.readTree(createdBody).path("id").asText("");
            if (id.isEmpty()) {
                throw new IllegalStateException("no id in " + createdBody);
            }
            return id;
        } catch (java.io.IOException e) {
            throw new IllegalStateException("unreadable reply " + createdBody, e);
        }
    }
}
