package io.woslo.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.woslo.quota.QuotaManager;
import java.util.List;

/**
 * {@code POST /v1/reservations} then {@code POST /v1/reservations/{id}/finally} through coordinator processes, so it
 * shows what HTTP and the stored reservation add to a library reservation. With several coordinators, operation
 * {@code n} creates on coordinator {@code n mod k} and finishes on the next one, as a load balancer spreading requests
 * would (any coordinator can end any reservation). The coordinators serve one namespace for the whole run, so each
 * phase uses accounts of its own instead of a fresh namespace; they are loaded before timing.
 *
 * <p>The client is a Vert.x HTTP/1.1 client with a keep-alive pool per coordinator on one event loop of the
 * benchmark's {@link HttpClients}. It replaced {@code java.net.http.HttpClient}, which spent about twice the CPU per
 * request (measured: ~0.7 ms per create+finally at 16 in flight) on the 2 cores the coordinator and etcd share with
 * it; the server sees the same requests either way (both clients set TCP_NODELAY).
 */
final class HttpReserveScenario {
    private static final ObjectMapper JSON = new ObjectMapper();

    private HttpReserveScenario() {
    }

    /** {@code http-reserve}: one coordinator, 1,000 accounts, like {@code reserve-spread}. */
    static Scenario spread(BenchEtcd etcd, HttpClients http, List<CoordinatorProcess> coordinators) {
        return of(etcd, http, coordinators.subList(0, 1), ScenarioNames.HTTP_RESERVE,
                "POST /v1/reservations + POST .../finally through the coordinator jar, 1,000 accounts,"
                        + " Vert.x HTTP/1.1 keep-alive client", 1000);
    }

    /** {@code http-reserve-hot-2coordinators}: ONE account, two coordinator processes on the same namespace. */
    static Scenario hotOverTwo(BenchEtcd etcd, HttpClients http, List<CoordinatorProcess> coordinators) {
        return of(etcd, http, coordinators.subList(0, 2), ScenarioNames.HTTP_RESERVE_HOT_2COORDINATORS,
                "the same on ONE account through 2 coordinator processes (create on one, finally on the other)", 1);
    }

    private static Scenario of(BenchEtcd etcd, HttpClients http, List<CoordinatorProcess> coordinators, String name,
                               String description, int accountCount) {
        List<HttpClientAgent> clients = coordinators.stream().map(http::to).toList();
        int k = clients.size();
        return new Scenario(name, description, false, inFlight -> {
            List<String> accounts = Accounts.named(etcd.freshLabel(name + "-" + inFlight) + "-", accountCount);
            try (QuotaManager loader = ReserveScenario.manager(etcd.shared(), coordinators.get(0).namespace(),
                    List.of(CoordinatorProcess.RESOURCE))) {
                Accounts.load(loader, accounts);
            }
            Operation op = seq -> {
                HttpClientAgent creator = clients.get((int) (seq % k));
                HttpClientAgent finisher = clients.get((int) ((seq + 1) % k));
                String body = "{\"account\":\"" + accounts.get((int) (seq % accountCount)) + "\",\"resources\":{\""
                        + CoordinatorProcess.RESOURCE + "\":1}}";
                return post(creator, "/v1/reservations", body, 201)
                        .compose(created -> post(finisher, "/v1/reservations/" + idOf(created) + "/finally", "", 204))
                        .map(done -> 0)
                        .toCompletionStage().toCompletableFuture();
            };
            return Workload.of(op);
        });
    }

    private static Future<String> post(HttpClientAgent client, String uri, String body, int expected) {
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setURI(uri)
                .setTimeout(HttpClients.REQUEST_TIMEOUT.toMillis());
        if (!body.isEmpty()) {
            options.putHeader("Content-Type", "application/json");
        }
        return client.request(options)
                .compose(request -> request.send(body))
                .compose(response -> response.body().map(reply -> {
                    if (response.statusCode() != expected) {
                        throw new IllegalStateException(uri + " answered " + response.statusCode() + " (expected "
                                + expected + "): " + reply);
                    }
                    return reply.toString();
                }));
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
