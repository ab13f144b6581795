package io.woslo.bench;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark's HTTP clients: one Vert.x instance with a single event loop (the benchmark shares 2 cores with etcd
 * and the coordinators), one HTTP/1.1 keep-alive pool per coordinator, large enough for the highest in-flight level.
 */
final class HttpClients implements AutoCloseable {
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);
    private static final int POOL_SIZE = 2 * Bench.IN_FLIGHT.stream().mapToInt(Integer::intValue).max().orElse(64);

    private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    private final ConcurrentHashMap<String, HttpClientAgent> byBaseUrl = new ConcurrentHashMap<>();

    /** The client of {@code coordinator}, made on first use. */
    HttpClientAgent to(CoordinatorProcess coordinator) {
        return byBaseUrl.computeIfAbsent(coordinator.baseUrl(), base -> {
            URI uri = URI.create(base);
            return vertx.createHttpClient(new HttpClientOptions()
                            .setDefaultHost(uri.getHost()).setDefaultPort(uri.getPort())
                            .setKeepAlive(true).setTcpNoDelay(true)
                            .setConnectTimeout((int) Duration.ofSeconds(5).toMillis()),
                    new PoolOptions().setHttp1MaxSize(POOL_SIZE).setMaxWaitQueueSize(-1));
        });
    }

    @Override
    public void close() {
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // closing at the end of a run: nothing left to protect
        }
    }
}
