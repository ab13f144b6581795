package io.woslo.coordinator;

import static io.vertx.core.http.HttpMethod.GET;
import static io.vertx.core.http.HttpMethod.POST;

import io.etcd.jetcd.Client;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.woslo.quota.QuotaManager;
import java.time.Duration;

/** The coordinator's HTTP server: the endpoint table of CONTRACT.md §5. */
final class HttpVerticle extends VerticleBase {
    static final long BODY_LIMIT_BYTES = 64 * 1024;
    static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);

    private final CoordinatorConfig config;
    private final QuotaManager quota;
    private final Client etcd;
    private final PrometheusMeterRegistry registry;
    private HttpServer server;

    HttpVerticle(CoordinatorConfig config, QuotaManager quota, Client etcd, PrometheusMeterRegistry registry) {
        this.config = config;
        this.quota = quota;
        this.etcd = etcd;
        this.registry = registry;
    }

    @Override
    public Future<?> start() {
        Router router = Router.router(vertx);
        router.route().handler(new AccessLog());
        router.route().handler(new RequestMetrics(registry));
        router.route().handler(new BearerAuth(config.token()));
        router.route().handler(BodyHandler.create(false).setBodyLimit(BODY_LIMIT_BYTES));

        endpoint(router, GET,  "/used_quota",                    new UsedQuotaCheck(quota));
        endpoint(router, POST, "/used_quota",                    new UsedQuotaRefresh(quota));
        endpoint(router, POST, "/v1/reservations",               ReservationDryRun.orCreate(quota));
        endpoint(router, GET,  "/v1/reservations",               ReservationRead.ofAccount(quota));
        endpoint(router, GET,  "/v1/reservations/:id",           ReservationRead.one(quota));
        endpoint(router, POST, "/v1/reservations/:id/finally",   ReservationEnd.finish(quota));
        endpoint(router, POST, "/v1/reservations/:id/rollback",  ReservationEnd.rollback(quota));
        endpoint(router, POST, "/v1/reservations/:id/extend",    new ReservationExtend(quota));
        endpoint(router, POST, "/v1/usage/clean",                UsageRelease.clean(quota));
        endpoint(router, POST, "/v1/rollbacks",                  UsageRelease.rollback(quota));
        endpoint(router, GET,  "/health/live",                   HealthCheck.live());
        endpoint(router, GET,  "/health/ready",                  HealthCheck.ready(etcd, config.namespace()));
        endpoint(router, GET,  "/health",                        HealthCheck.ready(etcd, config.namespace()));
        endpoint(router, GET,  "/metrics",                       new MetricsExport(registry));

        router.route().handler(ctx -> ctx.fail(new ApiException(404, "not_found",
                "no endpoint " + ctx.request().method() + " " + ctx.request().path())));
        router.route().failureHandler(new ErrorMapper());

        return vertx.createHttpServer()
                .requestHandler(router)
                .listen(config.port(), config.host())
                .onSuccess(listening -> server = listening);
    }

    private static void endpoint(Router router, HttpMethod method, String path, Handler<RoutingContext> handler) {
        router.route(method, path).handler(RequestMetrics.tag(path)).handler(handler);
    }

    /** Stops accepting connections and lets requests in flight finish, for at most {@link #SHUTDOWN_GRACE}. */
    @Override
    public Future<?> stop() {
        return server == null ? Future.succeededFuture() : server.shutdown(SHUTDOWN_GRACE);
    }

    int actualPort() {
        return server.actualPort();
    }
}
