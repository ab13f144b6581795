package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The access log and the request id; put first on the router, so that every request the router sees is logged,
 * refused ones (401, 404, 405) included.
 *
 * <p>Each request gets an id: the incoming {@code X-Request-Id} when it is sane (1 to 128 characters among letters,
 * digits and {@code . _ : -}), else 16 new hex digits. It is echoed in the response's {@code X-Request-Id} and kept
 * in the request's context data under {@link #REQUEST_ID}.
 *
 * <p>When the response ends (or the connection closes first: status {@code closed}), one line goes to the logger
 * {@value #LOGGER}: method, path, status, milliseconds and request id, e.g.
 * {@code POST /v1/reservations 201 3.1 ms id=4f9c2a1e0b7d6c35}, with the same fields as key-value pairs
 * ({@code method}, {@code path}, {@code status}, {@code durationMs}, {@code requestId}) for the JSON log format.
 * Answered health probes and scrapes ({@code /health*}, {@code /metrics} with a 2xx) log at DEBUG, everything else
 * at INFO. The query string is left out (it names accounts; the path does not carry secrets, the token is a header).
 */
final class AccessLog implements Handler<RoutingContext> {
    static final String LOGGER = "io.woslo.coordinator.access";
    static final String HEADER = "X-Request-Id";
    static final String REQUEST_ID = "woslo.requestId";
    private static final Logger LOG = LoggerFactory.getLogger(LOGGER);
    private static final Pattern SANE_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    /** Paths longer than this are cut in the log (the server refuses very long request lines anyway). */
    private static final int MAX_PATH = 512;

    @Override
    public void handle(RoutingContext ctx) {
        long start = System.nanoTime();
        HttpServerRequest request = ctx.request();
        String id = requestId(request.getHeader(HEADER));
        ctx.put(REQUEST_ID, id);
        ctx.response().putHeader(HEADER, id);
        ctx.addEndHandler(ended -> log(ctx, id, start, ended.succeeded() || ctx.response().ended()));
        ctx.next();
    }

    /** The incoming id when sane, else a new one. */
    static String requestId(String incoming) {
        if (incoming != null && SANE_ID.matcher(incoming).matches()) {
            return incoming;
        }
        return String.format("%016x", ThreadLocalRandom.current().nextLong());
    }

    /**
     * {@code answered}: the response was ended. (Vert.x may report the connection's close before the end of a
     * response whose last bytes were already handed to it, so the end handler's outcome alone is not the test.)
     */
    private static void log(RoutingContext ctx, String id, long start, boolean answered) {
        String method = ctx.request().method().name();
        String path = printable(ctx.request().path());
        int status = ctx.response().getStatusCode();
        Level level = answered && status < 300 && quiet(path) ? Level.DEBUG : Level.INFO;
        if (!LOG.isEnabledForLevel(level)) {
            return;
        }
        String millis = String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e6);
        Object shown = answered ? status : "closed";
        LOG.atLevel(level)
                .setMessage("{} {} {} {} ms id={}")
                .addArgument(method).addArgument(path).addArgument(shown).addArgument(millis).addArgument(id)
                .addKeyValue("method", method)
                .addKeyValue("path", path)
                .addKeyValue("status", shown)
                .addKeyValue("durationMs", millis)
                .addKeyValue("requestId", id)
                .log();
    }

    private static boolean quiet(String path) {
        return path.equals("/metrics") || path.equals("/health") || path.startsWith("/health/");
    }

    /** The path as sent, cut to {@link #MAX_PATH} and with anything but printable ASCII as {@code ?}. */
    private static String printable(String path) {
        if (path == null) {
            return "-";
        }
        StringBuilder out = new StringBuilder(Math.min(path.length(), MAX_PATH + 3));
        for (int i = 0; i < path.length() && i < MAX_PATH; i++) {
            char c = path.charAt(i);
            out.append(c >= 0x21 && c < 0x7f ? c : '?');
        }
        if (path.length() > MAX_PATH) {
            out.append("...");
        }
        return out.toString();
    }
}
