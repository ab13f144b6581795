package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Requires {@code Authorization: Bearer <token>} on every path but {@code /health}, {@code /health/live} and
 * {@code /health/ready}, and the console's static files ({@code /ui} and {@code /ui/...}, which carry no data: a
 * browser's navigation cannot send a bearer header; the page sends the token on each data call), when a token is
 * configured;
 * 401 otherwise. The comparison takes the same time wherever the tokens differ.
 */
final class BearerAuth implements Handler<RoutingContext> {
    private static final String PREFIX = "Bearer ";
    private final byte[] token;

    BearerAuth(String token) {
        this.token = token.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void handle(RoutingContext ctx) {
        if (token.length == 0 || isHealth(ctx.request().path()) || ConsolePage.isConsole(ctx.normalizedPath())) {
            ctx.next();
            return;
        }
        String header = ctx.request().getHeader("Authorization");
        byte[] given = header != null && header.regionMatches(true, 0, PREFIX, 0, PREFIX.length())
                ? header.substring(PREFIX.length()).trim().getBytes(StandardCharsets.UTF_8)
                : new byte[0];
        if (MessageDigest.isEqual(given, token)) {
            ctx.next();
        } else {
            ctx.fail(new ApiException(401, "unauthorized", header == null
                    ? "a bearer token is required (Authorization: Bearer <token>)"
                    : "the bearer token is wrong"));
        }
    }

    /** The probes' paths, open to load balancers and orchestrators that hold no token. */
    static boolean isHealth(String path) {
        return "/health".equals(path) || "/health/live".equals(path) || "/health/ready".equals(path);
    }
}
