package io.woslo.coordinator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/** How handlers answer: library futures bridged back onto the request's Vert.x context, JSON bodies. */
final class Replies {
    static final ObjectMapper JSON = new ObjectMapper();

    private Replies() {
    }

    /**
     * Runs {@code call} (which must not block), and once its future completes answers on the request's context with
     * {@code onSuccess}, or hands the failure to the error mapper. A call that throws at once (bad input found before
     * anything is sent to etcd) is a failure too.
     */
    static <T> void whenDone(RoutingContext ctx, Supplier<CompletableFuture<T>> call,
                             BiConsumer<RoutingContext, T> onSuccess) {
        CompletableFuture<T> future;
        try {
            future = call.get();
        } catch (RuntimeException e) {
            ctx.fail(e);
            return;
        }
        Future.fromCompletionStage(future, ctx.vertx().getOrCreateContext())
                .onSuccess(value -> onSuccess.accept(ctx, value))
                .onFailure(ctx::fail);
    }

    static void json(RoutingContext ctx, int status, Object body) {
        String text;
        try {
            text = JSON.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            ctx.fail(e);
            return;
        }
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(text);
    }

    static void noContent(RoutingContext ctx, Object ignored) {
        ctx.response().setStatusCode(204).end();
    }
}
