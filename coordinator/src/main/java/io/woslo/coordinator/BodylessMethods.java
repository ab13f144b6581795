package io.woslo.coordinator;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/**
 * Only POST takes a body here. A request of any other method that carries one (a {@code Content-Length} above 0,
 * a {@code Transfer-Encoding}) or declares a form or multipart {@code Content-Type} is 400 before its body is read:
 * the body would be ignored, and Vert.x cannot decode a form on GET, HEAD or OPTIONS.
 */
final class BodylessMethods {
    private BodylessMethods() {
    }

    /** Passes the request on, or fails it with 400 (put before the body handler). */
    static void refuseBody(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        if (request.method() == HttpMethod.POST || !(hasBody(request) || isForm(request))) {
            ctx.next();
            return;
        }
        ctx.fail(ApiException.badRequest(request.method().name() + " " + request.path() + " takes no body"
                + (isForm(request) ? " and no form Content-Type" : "") + "; only POST requests carry one"));
    }

    /** Whether the request says it carries a body: a {@code Content-Length} above 0 or a {@code Transfer-Encoding}. */
    static boolean hasBody(HttpServerRequest request) {
        if (request.headers().contains(HttpHeaders.TRANSFER_ENCODING)) {
            return true;
        }
        String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (length == null) {
            return false;
        }
        try {
            return Long.parseLong(length.trim()) != 0;
        } catch (NumberFormatException e) {
            return true;
        }
    }

    private static boolean isForm(HttpServerRequest request) {
        String type = request.getHeader(HttpHeaders.CONTENT_TYPE);
        if (type == null) {
            return false;
        }
        String lower = type.toLowerCase(java.util.Locale.ROOT);
        return lower.contains("multipart/") || lower.contains("application/x-www-form-urlencoded");
    }
}
