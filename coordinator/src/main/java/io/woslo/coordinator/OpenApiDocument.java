package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * {@code GET /openapi.yaml}: the OpenAPI 3.1 description of this API ({@code docs/openapi.yaml}, packaged as the
 * class path resource {@link #RESOURCE}), read once when the server is built and served as it is.
 */
final class OpenApiDocument implements Handler<RoutingContext> {
    /** Beside this class in the jar. */
    static final String RESOURCE = "openapi.yaml";
    static final String CONTENT_TYPE = "application/yaml";

    private final Buffer document;

    private OpenApiDocument(byte[] document) {
        this.document = Buffer.buffer(document);
    }

    /** Reads the resource (blocking: call it off the event loop, once). */
    static OpenApiDocument load() {
        return new OpenApiDocument(bytes());
    }

    /** The packaged description's bytes. */
    static byte[] bytes() {
        try (InputStream in = OpenApiDocument.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the class path resource io/woslo/coordinator/" + RESOURCE
                        + " is missing from the coordinator's jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the class path resource " + RESOURCE, e);
        }
    }

    @Override
    public void handle(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", CONTENT_TYPE).end(document);
    }
}
