package io.woslo.coordinator;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Times every request into {@code woslo.http.requests} (a timer, so a count too), tagged with the route template
 * (not the raw path: ids stay out of the tags), the method and the status. Every label is bounded, so no request
 * creates a series of its own: paths no route matches (and requests refused before routing) are tagged
 * "unmatched", methods outside {@link #METHODS} "other", and statuses are the few the coordinator answers.
 */
final class RequestMetrics implements Handler<RoutingContext> {
    static final String ROUTE = "woslo.route";
    /** The methods that get a label of their own. */
    static final Set<String> METHODS = Set.of("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH");
    private final MeterRegistry registry;
    /** The timers by route, method and status, so that a request does not build and look up its meter id anew. */
    private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();

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
        ctx.addBodyEndHandler(v -> timer(ctx.get(ROUTE, "unmatched"), method(ctx.request().method()),
                ctx.response().getStatusCode()).record(System.nanoTime() - start, TimeUnit.NANOSECONDS));
        ctx.next();
    }

    /** The method's label: one of {@link #METHODS}, else "other" (a stranger's invented method makes no series). */
    static String method(HttpMethod method) {
        String name = method.name();
        return METHODS.contains(name) ? name : "other";
    }

    private Timer timer(String route, String method, int status) {
        return timers.computeIfAbsent(route + ' ' + method + ' ' + status, k -> Timer.builder("woslo.http.requests")
                .description("HTTP requests by route, method and status")
                .tag("route", route)
                .tag("method", method)
                .tag("status", String.valueOf(status))
                .publishPercentileHistogram()
                .register(registry));
    }
}
