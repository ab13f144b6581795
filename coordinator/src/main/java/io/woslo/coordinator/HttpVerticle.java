package io.woslo.coordinator;

import static io.vertx.core.http.HttpMethod.DELETE;
import static io.vertx.core.http.HttpMethod.GET;
import static io.vertx.core.http.HttpMethod.HEAD;
import static io.vertx.core.http.HttpMethod.POST;

import io.etcd.jetcd.Client;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.woslo.lock.RwLocks;
import io.woslo.quota.QuotaAccounts;
import io.woslo.quota.QuotaManager;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/** The coordinator's HTTP server: the endpoint table of docs/api.md. */
final class HttpVerticle extends VerticleBase {
    static final long BODY_LIMIT_BYTES = 64 * 1024;
    static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);
    /** The longest request line (method, URI, version); longer is 414. */
    static final int MAX_REQUEST_LINE_BYTES = 4096;
    /** The most header bytes a request may carry; more is 431. */
    static final int MAX_HEADER_BYTES = 8192;
    /** How much longer than {@code quota.operationTimeout} a silent connection is kept open. */
    static final Duration IDLE_MARGIN = Duration.ofSeconds(5);

    private final CoordinatorConfig config;
    private final QuotaManager quota;
    private final Client etcd;
    private final PrometheusMeterRegistry registry;
    /** Read here, on the thread that builds the coordinator, so that the event loop never reads the class path. */
    private final OpenApiDocument openApi = OpenApiDocument.load();
    /** The console's static files, read here for the same reason. */
    private final ConsolePage console = ConsolePage.load();
    /** The console's views of accounts and locks (reads of etcd, and the force-release of a lock entry). */
    private final QuotaAccounts accounts;
    private final RwLocks locks;
    /** The methods each endpoint path takes, in table order, for the 405s' Allow header. */
    private final Map<String, Set<HttpMethod>> allowed = new LinkedHashMap<>();
    private HttpServer server;
    private Router router;

    HttpVerticle(CoordinatorConfig config, QuotaManager quota, Client etcd, PrometheusMeterRegistry registry) {
        this.config = config;
        this.quota = quota;
        this.etcd = etcd;
        this.registry = registry;
        this.accounts = new QuotaAccounts(etcd, config.namespace(), config.operationTimeout());
        this.locks = RwLocks.builder(etcd).namespace(config.namespace()).operationTimeout(config.operationTimeout())
                .build();
    }

    @Override
    public Future<?> start() {
        router = Router.router(vertx);
        router.route().handler(new AccessLog());
        router.route().handler(new RequestMetrics(registry));
        router.route().handler(new BearerAuth(config.token()));
        router.route().handler(BodylessMethods::refuseBody);
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
        endpoint(router, GET,  "/v1/accounts",                   AccountsRead.list(accounts));
        endpoint(router, GET,  "/v1/accounts/:account",          AccountsRead.one(accounts, quota, locks));
        endpoint(router, GET,  "/v1/locks/:key",                 LockRead.describe(locks));
        endpoint(router, DELETE, "/v1/locks/:key/entries/:entry", LockRead.forceRelease(locks));
        endpoint(router, GET,  "/v1/events",                     new EventStream(accounts, config.operationTimeout(),
                                                                         idleTimeout(config), registry));
        endpoint(router, GET,  "/health/live",                   HealthCheck.live());
        endpoint(router, GET,  "/health/ready",                  HealthCheck.ready(etcd, config.namespace()));
        endpoint(router, GET,  "/health",                        HealthCheck.ready(etcd, config.namespace()));
        endpoint(router, GET,  "/metrics",                       new MetricsExport(registry));
        endpoint(router, GET,  "/openapi.yaml",                  openApi);

        // the console's page: no token, GET and HEAD only (checked by its handlers), not in the OpenAPI description
        router.route(ConsolePage.ROOT).handler(RequestMetrics.tag(ConsolePage.ROOT)).handler(console.redirect());
        router.route(ConsolePage.ROOT + "/*").handler(RequestMetrics.tag(ConsolePage.ROOT + "/*"))
                .handler(console.files());
        // a force-release without an entry name: 400 rather than an unknown route
        router.routeWithRegex(DELETE, "/v1/locks/[^/]+/entries/?").handler(RequestMetrics.tag(
                "/v1/locks/:key/entries/:entry")).handler(LockRead.emptyEntry());

        // a known path with a method it does not take: 405 with Allow
        allowed.forEach((path, methods) -> router.route(path).handler(RequestMetrics.tag(path))
                .handler(ctx -> ctx.fail(ApiException.methodNotAllowed(ctx.request().method().name(), path, methods))));
        router.route().handler(ctx -> ctx.fail(new ApiException(404, "not_found",
                "no endpoint " + ctx.request().method() + " " + ctx.request().path())));
        router.route().failureHandler(new ErrorMapper());

        HttpServerOptions options = new HttpServerOptions()
                .setMaxInitialLineLength(MAX_REQUEST_LINE_BYTES)
                .setMaxHeaderSize(MAX_HEADER_BYTES)
                .setIdleTimeout((int) idleTimeout(config).toMillis())
                .setIdleTimeoutUnit(TimeUnit.MILLISECONDS);
        return vertx.createHttpServer(options)
                .invalidRequestHandler(new InvalidRequests())
                .requestHandler(router)
                .listen(config.port(), config.host())
                .onSuccess(listening -> server = listening);
    }

    /**
     * How long a connection may go without a read or a write before it is closed: an idle keep-alive connection, or
     * one whose request head (line and headers) does not arrive in full within it, however slowly its bytes come
     * (Vert.x counts a read only once a head, or a piece of a body, is decoded). Longer than any request may take
     * ({@code quota.operationTimeout}), so no answer is cut off.
     */
    static Duration idleTimeout(CoordinatorConfig config) {
        return config.operationTimeout().plus(IDLE_MARGIN);
    }

    /** A GET endpoint answers HEAD as well (the same answer without its body). */
    private void endpoint(Router router, HttpMethod method, String path, Handler<RoutingContext> handler) {
        Route route = router.route(path).method(method);
        Set<HttpMethod> methods = allowed.computeIfAbsent(path,
                p -> new TreeSet<>(Comparator.comparing(HttpMethod::name)));
        methods.add(method);
        if (method == GET) {
            route.method(HEAD);
            methods.add(HEAD);
        }
        route.handler(RequestMetrics.tag(path)).handler(handler);
    }

    /** Stops accepting connections and lets requests in flight finish, for at most {@link #SHUTDOWN_GRACE}. */
    @Override
    public Future<?> stop() {
        Future<?> stopped = server == null ? Future.succeededFuture() : server.shutdown(SHUTDOWN_GRACE);
        return stopped.eventually(() -> {
            locks.close();
            return Future.succeededFuture();
        });
    }

    /** The router once started: its routes are checked against {@code docs/openapi.yaml} by the tests. */
    Router router() {
        return router;
    }

    int actualPort() {
        return server.actualPort();
    }
}
