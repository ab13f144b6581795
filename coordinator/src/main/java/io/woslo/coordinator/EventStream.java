package io.woslo.coordinator;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.NamespaceChange;
import io.woslo.quota.QuotaAccounts;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /v1/events}: server-sent events telling what changed under the namespace, for the console to re-read
 * what it shows. Each connection has ONE etcd watch on the namespace prefix (no polling). The answer's head (200,
 * {@code text/event-stream}) is sent once etcd has confirmed the watch, so every change after it is told; if etcd
 * does not confirm it within {@code quota.operationTimeout}, the answer is 503 and the watch is cancelled.
 *
 * <pre>
 * : watching
 *
 * event: change
 * data: {"kind":"quota","account":"a","lock":null}
 * </pre>
 *
 * Changes are coalesced: at most one event per (kind, account, lock) per {@link #COALESCE}. A comment line
 * {@code : ping} every {@link #PING} (more often when the idle timeout is shorter) keeps proxies and the server's own
 * idle timeout from closing a quiet stream. When the client goes away the watch is cancelled in etcd. Everything
 * runs on the request's event loop (the watch's callbacks are moved onto it) and nothing blocks it. A stopping
 * server ends its streams at once (the clients reconnect to another instance).
 * {@code woslo_events_streams} counts the open streams, {@code woslo_events_watches} their open etcd watches.
 */
final class EventStream implements Handler<RoutingContext> {
    private static final Logger LOG = LoggerFactory.getLogger(EventStream.class);
    static final Duration COALESCE = Duration.ofMillis(100);
    static final Duration PING = Duration.ofSeconds(15);
    static final String CONTENT_TYPE = "text/event-stream; charset=utf-8";

    private final QuotaAccounts accounts;
    private final Duration readyTimeout;
    private final Duration ping;
    private final AtomicInteger streams = new AtomicInteger();
    private final AtomicInteger watches = new AtomicInteger();

    EventStream(QuotaAccounts accounts, Duration readyTimeout, Duration idleTimeout, MeterRegistry registry) {
        this.accounts = accounts;
        this.readyTimeout = readyTimeout;
        Duration half = idleTimeout.dividedBy(2);
        this.ping = half.compareTo(PING) < 0 ? half : PING;
        Gauge.builder("woslo.events.streams", streams, AtomicInteger::get)
                .description("open GET /v1/events streams").register(registry);
        Gauge.builder("woslo.events.watches", watches, AtomicInteger::get)
                .description("etcd watches open for GET /v1/events streams").register(registry);
    }

    @Override
    public void handle(RoutingContext ctx) {
        if (ctx.request().method() == HttpMethod.HEAD) {
            headers(ctx.response()).end();
            return;
        }
        new Stream(ctx).open();
    }

    private static HttpServerResponse headers(HttpServerResponse response) {
        return response.setStatusCode(200)
                .putHeader("Content-Type", CONTENT_TYPE)
                .putHeader("Cache-Control", "no-cache")
                .putHeader("X-Accel-Buffering", "no");
    }

    /** One client's stream: its watch, its timers and its pending changes; touched on its event loop only. */
    private final class Stream {
        private final RoutingContext ctx;
        private final HttpServerResponse response;
        private final Context context;
        private final Set<NamespaceChange> pending = new LinkedHashSet<>();
        private AutoCloseable watch;
        private boolean started;
        private boolean closed;
        private long readyTimer = -1;
        private long pingTimer = -1;
        private long flushTimer = -1;

        Stream(RoutingContext ctx) {
            this.ctx = ctx;
            this.response = ctx.response();
            this.context = ctx.vertx().getOrCreateContext();
        }

        void open() {
            response.closeHandler(v -> close("the client went away"));
            response.exceptionHandler(error -> close("the connection failed: " + error));
            // the server stopping ends the stream at once, rather than after the shutdown's grace period
            ctx.request().connection().shutdownHandler(v -> {
                if (!closed) {
                    close("the server is stopping");
                    if (started && !response.ended()) {
                        response.end();
                    }
                }
            });
            readyTimer = ctx.vertx().setTimer(readyTimeout.toMillis(), id -> {
                readyTimer = -1;
                if (!started && !closed) {
                    close("etcd did not confirm the watch within " + readyTimeout);
                    ctx.fail(new ApiException(503, "unavailable", "etcd did not confirm the watch in time; retry"));
                }
            });
            try {
                watch = accounts.watch(change -> context.runOnContext(v -> changed(change)),
                        () -> context.runOnContext(v -> ready()),
                        error -> context.runOnContext(v -> failed(error)));
                watches.incrementAndGet();
            } catch (RuntimeException e) {
                close("the watch could not be made: " + e);
                ctx.fail(new ApiException(503, "unavailable", "the watch could not be made; retry"));
            }
        }

        private void ready() {
            if (started || closed) {
                return;
            }
            started = true;
            streams.incrementAndGet();
            cancel(readyTimer);
            headers(response).setChunked(true).write(": watching\n\n");
            pingTimer = ctx.vertx().setPeriodic(ping.toMillis(), id -> {
                if (!closed) {
                    response.write(": ping\n\n");
                }
            });
        }

        private void changed(NamespaceChange change) {
            if (closed || !started) {
                return;
            }
            pending.add(change);
            if (flushTimer < 0) {
                flushTimer = ctx.vertx().setTimer(COALESCE.toMillis(), id -> flush());
            }
        }

        private void flush() {
            flushTimer = -1;
            if (closed) {
                return;
            }
            StringBuilder out = new StringBuilder();
            for (NamespaceChange change : pending) {
                Map<String, Object> data = new LinkedHashMap<>();
                data.put("kind", change.kind());
                data.put("account", change.account());
                data.put("lock", change.lock());
                try {
                    out.append("event: change\ndata: ").append(Replies.JSON.writeValueAsString(data)).append("\n\n");
                } catch (JsonProcessingException e) {
                    LOG.warn("a change could not be written as JSON: {}", e.toString());
                }
            }
            pending.clear();
            response.write(out.toString());
        }

        private void failed(Throwable error) {
            if (closed) {
                return;
            }
            boolean wasStarted = started;
            close("the etcd watch ended: " + error);
            if (wasStarted) {
                response.end(); // the client reconnects and reads anew
            } else {
                ctx.fail(new ApiException(503, "unavailable", "the etcd watch failed; retry"));
            }
        }

        private void close(String why) {
            if (closed) {
                return;
            }
            closed = true;
            LOG.debug("event stream closed: {}", why);
            cancel(readyTimer);
            cancel(pingTimer);
            cancel(flushTimer);
            if (started) {
                streams.decrementAndGet();
            }
            AutoCloseable open = watch;
            watch = null;
            if (open != null) {
                // jetcd's close sends the cancel on its stream; kept off the event loop all the same
                ctx.vertx().executeBlocking(() -> {
                    open.close();
                    return null;
                }, false).onComplete(done -> {
                    watches.decrementAndGet();
                    if (done.failed()) {
                        LOG.warn("an event stream's etcd watch did not close cleanly: {}", done.cause().toString());
                    }
                });
            }
        }

        private void cancel(long timer) {
            if (timer >= 0) {
                ctx.vertx().cancelTimer(timer);
            }
        }
    }
}
