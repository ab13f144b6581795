package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.QuotaManager;

/**
 * {@code POST /v1/reservations/{id}/finally} (keeps the amounts: the Go edition's Finally; with an optional body
 * {@code {"resources":{..}}} keeps only those, each at most what was reserved, and gives the rest back) and
 * {@code POST /v1/reservations/{id}/rollback} (gives them back): 204, or 404 when the id is unknown or the
 * reservation already ended; one etcd transaction each. Works for a reservation made by any coordinator instance.
 * Both take an {@code Idempotency-Key}.
 */
final class ReservationEnd implements Handler<RoutingContext> {
    private final QuotaManager quota;
    private final boolean rollback;

    private ReservationEnd(QuotaManager quota, boolean rollback) {
        this.quota = quota;
        this.rollback = rollback;
    }

    static ReservationEnd finish(QuotaManager quota) {
        return new ReservationEnd(quota, false);
    }

    static ReservationEnd rollback(QuotaManager quota) {
        return new ReservationEnd(quota, true);
    }

    @Override
    public void handle(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        JsonBody body = rollback ? null : JsonBody.optional(ctx);
        java.util.Map<String, Long> keep = body == null ? null : body.amounts("resources");
        io.woslo.quota.IdempotencyKey key = IdempotencyHeader.of(ctx, keep == null ? "all" : keep);
        Replies.whenDone(ctx, () -> rollback
                        ? quota.rollbackStoredAsync(id, key)
                        : quota.finishStoredAsync(id, keep, key),
                (c, ended) -> {
                    if (ended) {
                        c.response().setStatusCode(204).end();
                    } else {
                        c.fail(new ApiException(404, "not_found", "no open reservation with id '" + id + "'"));
                    }
                });
    }
}
