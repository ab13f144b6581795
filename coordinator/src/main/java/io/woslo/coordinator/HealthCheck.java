package io.woslo.coordinator;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The health endpoints, open without a token:
 * <ul>
 *   <li>{@code GET /health/live} ({@link #live()}): 200 {@code {"status":"UP","checks":[]}} whenever the process
 *       serves HTTP; it never asks etcd, so an etcd outage does not get coordinators restarted by a liveness
 *       probe;</li>
 *   <li>{@code GET /health/ready} and {@code GET /health} ({@link #ready}): 200
 *       {@code {"status":"UP","checks":[{"name":"etcd","status":"UP"}]}} when etcd answers a count-only read of the
 *       namespace within {@link #PROBE_TIMEOUT}, else 503 with {@code DOWN} in both places and
 *       {@code Retry-After}.</li>
 * </ul>
 * Neither blocks the event loop: the probe is asynchronous and its answer is written on the request's context.
 */
final class HealthCheck {
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private HealthCheck() {
    }

    /** {@code GET /health/live}. */
    static Handler<RoutingContext> live() {
        return ctx -> Replies.json(ctx, 200, new Health("UP", List.of()));
    }

    /** {@code GET /health/ready} and {@code GET /health}: whether etcd answers. */
    static Handler<RoutingContext> ready(Client client, String namespace) {
        ByteSequence key = ByteSequence.from(namespace, StandardCharsets.UTF_8);
        GetOption countOnly = GetOption.builder().isPrefix(true).withCountOnly(true).build();
        return ctx -> Replies.whenDone(ctx, () -> probe(client, key, countOnly), (c, up) -> {
            String status = up ? "UP" : "DOWN";
            if (!up) {
                c.response().putHeader("Retry-After", ErrorMapper.RETRY_AFTER_SECONDS);
            }
            Replies.json(c, up ? 200 : 503, new Health(status, List.of(new Check("etcd", status))));
        });
    }

    /** The answer's body, fields in this order. */
    record Health(String status, List<Check> checks) {
    }

    /** One dependency's state. */
    record Check(String name, String status) {
    }

    private static CompletableFuture<Boolean> probe(Client client, ByteSequence key, GetOption countOnly) {
        return client.getKVClient().get(key, countOnly)
                .orTimeout(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .handle((response, error) -> error == null);
    }
}
