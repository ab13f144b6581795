package io.woslo.coordinator;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/** {@code GET /metrics}: the registry in Prometheus text format. */
final class MetricsExport implements Handler<RoutingContext> {
    private final PrometheusMeterRegistry registry;

    MetricsExport(PrometheusMeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void handle(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(registry.scrape());
    }
}
