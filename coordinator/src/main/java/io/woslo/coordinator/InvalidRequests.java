package io.woslo.coordinator;

import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;

/**
 * Requests Vert.x cannot parse, answered before the router sees them, in the same JSON error shape as every other
 * error, and then the connection is closed (what follows on it cannot be trusted): 414 {@code uri_too_long} for a
 * request line over {@link HttpVerticle#MAX_REQUEST_LINE_BYTES}, 431 {@code headers_too_large} for headers over
 * {@link HttpVerticle#MAX_HEADER_BYTES}, 400 {@code bad_request} for anything else that is not HTTP.
 */
final class InvalidRequests implements Handler<HttpServerRequest> {
    @Override
    public void handle(HttpServerRequest request) {
        Throwable cause = request.decoderResult().cause();
        JsonObject body;
        int status;
        if (cause instanceof TooLongHttpLineException) {
            status = 414;
            body = error("uri_too_long", "the request line is longer than " + HttpVerticle.MAX_REQUEST_LINE_BYTES
                    + " bytes; send fewer or shorter query parameters");
        } else if (cause instanceof TooLongHttpHeaderException) {
            status = 431;
            body = error("headers_too_large", "the request headers are larger than " + HttpVerticle.MAX_HEADER_BYTES
                    + " bytes");
        } else {
            status = 400;
            body = error("bad_request", "the request is not valid HTTP/1.1");
        }
        request.response().setStatusCode(status)
                .putHeader("Content-Type", "application/json")
                .putHeader("Connection", "close")
                .end(body.encode())
                .onComplete(done -> request.connection().close());
    }

    private static JsonObject error(String code, String message) {
        return new JsonObject().put("error", code).put("message", message);
    }
}
