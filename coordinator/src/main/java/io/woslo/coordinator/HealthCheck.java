package io.woslo.coordinator;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /health}: 200 {@code {"status":"UP","etcd":"UP"}} when etcd answers a count-only read of the namespace
 * within {@link #PROBE_TIMEOUT}, else 503 {@code {"status":"DOWN","etcd":"DOWN"}}. Open without a token.
 */
final class HealthCheck implements Handler<RoutingContext> {
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private final Client client;
    private final ByteSequence key;

    HealthCheck(Client client, String namespace) {
        this.client = client;
        this.key = ByteSequence.from(namespace, StandardCharsets.UTF_8);
    }

    @Override
    public void handle(RoutingContext ctx) {
        Replies.whenDone(ctx, this::probe, (c, up) -> {
            if (!up) {
                c.response().putHeader("Retry-After", ErrorMapper.RETRY_AFTER_SECONDS);
            }
            Replies.json(c, up ? 200 : 503, Map.of("status", up ? "UP" : "DOWN", "etcd", up ? "UP" : "DOWN"));
        });
    }

    private CompletableFuture<Boolean> probe() {
        return client.getKVClient().get(key, GetOption.builder().isPrefix(true).withCountOnly(true).build())
                .orTimeout(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .handle((response, error) -> error == null);
    }
}
