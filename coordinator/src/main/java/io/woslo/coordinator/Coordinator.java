package io.woslo.coordinator;

import io.etcd.jetcd.Client;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.UsedQuotaHandler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running coordinator: (a local etcd when asked for,) an etcd client (TLS and credentials from
 * {@code etcd.tls}, {@code etcd.user} and its password, see {@link EtcdClients}), a {@link QuotaManager} over the
 * configured resources, and the HTTP server. At start one read of the namespace ({@link EtcdStartProbe}) refuses
 * credentials or TLS settings that etcd rejects, naming the cause; an etcd that is merely down does not stop it.
 * It keeps no state of its own, so several can serve one namespace.
 * {@link #close()} stops them in reverse order, JDBC sources' connection pools included.
 */
public final class Coordinator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Coordinator.class);
    static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final LocalEtcd localEtcd;
    private final List<AutoCloseable> handlers;
    private final Client client;
    private final QuotaManager quota;
    private final CoordinatorMetrics metrics;
    private final Vertx vertx;
    private final HttpVerticle http;
    private final String baseUrl;

    private Coordinator(LocalEtcd localEtcd, List<AutoCloseable> handlers, Client client, QuotaManager quota,
                        CoordinatorMetrics metrics,
                        Vertx vertx, HttpVerticle http, String host) {
        this.localEtcd = localEtcd;
        this.handlers = handlers;
        this.client = client;
        this.quota = quota;
        this.metrics = metrics;
        this.vertx = vertx;
        this.http = http;
        this.baseUrl = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + http.actualPort();
    }

    /**
     * Starts a coordinator for a validated {@code config}; a local etcd, if asked for, keeps its data under
     * {@code workDir/data/etcd}. Blocks until the server listens; on failure, whatever was started is stopped.
     */
    public static Coordinator start(CoordinatorConfig config, Path workDir) {
        return start(config, workDir, List.of());
    }

    /** {@link #start(CoordinatorConfig, Path)} with gRPC interceptors on its etcd client (tests inject faults). */
    static Coordinator start(CoordinatorConfig config, Path workDir, List<io.grpc.ClientInterceptor> interceptors) {
        config.validate();
        LocalEtcd local = config.localEtcd() ? LocalEtcd.start(workDir) : null;
        List<AutoCloseable> handlers = new ArrayList<>();
        Client client = null;
        QuotaManager quota = null;
        Vertx vertx = null;
        CoordinatorMetrics metrics = new CoordinatorMetrics();
        try {
            List<String> endpoints = local != null ? List.of(local.endpoint()) : config.etcdEndpoints();
            if (local == null) {
                EtcdStartProbe.check(config.etcd(), endpoints, probeBound(config));
            }
            client = EtcdClients.build(config.etcd(), endpoints, metrics.withEtcdTimer(interceptors));
            PrometheusMeterRegistry registry = metrics.registry();
            QuotaManager.Builder builder = QuotaManager.builder(client)
                    .namespace(config.namespace())
                    .cacheTtl(config.cacheTtl())
                    .lockLeaseTime(config.lockLeaseTime())
                    .operationTimeout(config.operationTimeout())
                    .failureMode(config.failureMode())
                    .healthCheckInterval(config.healthCheckInterval())
                    .idempotencyWindow(config.idempotencyWindow())
                    // Every handler continues on its request's event loop (Replies.whenDone): no pool hop needed.
                    .callbackExecutor(Runnable::run)
                    .meterRegistry(registry);
            Client forSources = client;
            config.resources().forEach((name, source) -> {
                UsedQuotaHandler handler = source.handler(name, forSources, config.namespace());
                if (handler instanceof AutoCloseable closeable) {
                    handlers.add(closeable);
                }
                builder.resource(name, handler);
            });
            quota = builder.build();
            vertx = Vertx.vertx();
            HttpVerticle http = new HttpVerticle(config, quota, client, registry);
            vertx.deployVerticle(http).toCompletionStage().toCompletableFuture()
                    .get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            Coordinator coordinator = new Coordinator(local, handlers, client, quota, metrics, vertx, http,
                    config.host());
            LOG.info("WOSLO coordinator listening on {} (etcd {}, namespace {}, resources {})", coordinator.baseUrl,
                    local != null ? local.endpoint() + " (local)" : config.etcdEndpoints(), config.namespace(),
                    config.resources().keySet());
            loadAccounts(quota, config.accounts());
            return coordinator;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopAll(vertx, quota, handlers, client, local, metrics);
            throw new IllegalStateException("interrupted while starting", e);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            stopAll(vertx, quota, handlers, client, local, metrics);
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException("cannot start the coordinator on " + config.host() + ":" + config.port()
                    + ": " + cause.getMessage(), cause);
        }
    }

    /** How long the start waits for etcd's first answer: the operation timeout, at most {@link #START_TIMEOUT}. */
    private static Duration probeBound(CoordinatorConfig config) {
        return config.operationTimeout().compareTo(START_TIMEOUT) < 0 ? config.operationTimeout() : START_TIMEOUT;
    }

    /** Where it listens, e.g. {@code http://127.0.0.1:7070}. */
    public String baseUrl() {
        return baseUrl;
    }

    public int port() {
        return http.actualPort();
    }

    /** The HTTP server's router (its routes are checked against the OpenAPI description by the tests). */
    io.vertx.ext.web.Router router() {
        return http.router();
    }

    /** Stops accepting requests, lets those in flight finish, then closes the manager, the client and a local etcd. */
    @Override
    public void close() {
        stopAll(vertx, quota, handlers, client, localEtcd, metrics);
        LOG.info("WOSLO coordinator on {} stopped", baseUrl);
    }

    /**
     * Refreshes the configured accounts ({@code quota.accounts}) from their sources in the background, as the seed's
     * {@code InitResourceQuotaData} does; an account that fails is logged by the library and refreshed later on use.
     */
    private static void loadAccounts(QuotaManager quota, List<String> accounts) {
        if (accounts.isEmpty()) {
            return;
        }
        quota.initResourceQuotaData(() -> accounts).whenComplete((done, error) -> {
            if (error != null) {
                LOG.warn("loading the accounts {} failed: {}", accounts, error.getMessage());
            } else {
                LOG.info("loaded the accounts {} from their sources", accounts);
            }
        });
    }

    private static void stopAll(Vertx vertx, QuotaManager quota, List<AutoCloseable> handlers, Client client,
                                LocalEtcd local, CoordinatorMetrics metrics) {
        if (vertx != null) {
            try {
                vertx.close().toCompletionStage().toCompletableFuture()
                        .get(HttpVerticle.SHUTDOWN_GRACE.toMillis() + 5000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                LOG.warn("the HTTP server did not stop cleanly: {}", e.toString());
            }
        }
        if (quota != null) {
            quota.close();
        }
        for (AutoCloseable handler : handlers) {
            try {
                handler.close();
            } catch (Exception e) {
                LOG.warn("a resource source did not close cleanly: {}", e.toString());
            }
        }
        if (client != null) {
            client.close();
        }
        if (local != null) {
            local.close();
        }
        metrics.close();
    }
}
