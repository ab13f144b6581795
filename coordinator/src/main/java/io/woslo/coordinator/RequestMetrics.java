package io.woslo.coordinator;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.TimeUnit;

/**
 * Times every request into {@code woslo.http.requests} (a timer, so a count too), tagged with the route template
 * (not the raw path: ids stay out of the tags), the method and the status. Unmatched paths are tagged
 * "unmatched".
 */
final class RequestMetrics implements Handler<RoutingContext> {
    static final String ROUTE = "woslo.route";
    private final MeterRegistry registry;

    RequestMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Marks the request as served by {@code template}; put first on each endpoint's route. */
    static Handler<RoutingContext> tag(String template) {
        return ctx -> {
            ctx.put(ROUTE, template);
            ctx.next();
        };
    }

    @Override
    public void handle(RoutingContext ctx) {
        long start = System.nanoTime();
        ctx.addBodyEndHandler(v -> Timer.builder("woslo.http.requests")
                .description("HTTP requests by route, method and status")
                .tag("route", ctx.get(ROUTE, "unmatched"))
                .tag("method", ctx.request().method().name())
                .tag("status", String.valueOf(ctx.response().getStatusCode()))
                .publishPercentileHistogram()
                .register(registry)
                .record(System.nanoTime() - start, TimeUnit.NANOSECONDS));
        ctx.next();
    }
}
