package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.QuotaManager;
import java.time.Duration;

/**
 * {@code POST /v1/reservations/{id}/extend} with {@code {"seconds":N}}: the reservation (its record and its lock)
 * lives at least N seconds from now; never shortened. 200 with the record and its new {@code expiresAt}; 404 when the
 * reservation is unknown or ended; 400 for N not in 1..86400. Safe to repeat.
 */
final class ReservationExtend implements Handler<RoutingContext> {
    private final QuotaManager quota;

    ReservationExtend(QuotaManager quota) {
        this.quota = quota;
    }

    @Override
    public void handle(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        long seconds = JsonBody.of(ctx).wholeNumber("seconds");
        if (seconds < 1 || seconds > Duration.ofDays(1).toSeconds()) {
            throw ApiException.badRequest("'seconds' must be between 1 and 86400, got " + seconds);
        }
        Replies.whenDone(ctx, () -> quota.extendStoredAsync(id, Duration.ofSeconds(seconds)), (c, extended) -> {
            if (extended.isPresent()) {
                Replies.json(c, 200, ReservationRead.record(extended.get()));
            } else {
                c.fail(new ApiException(404, "not_found", "no open reservation with id '" + id + "'"));
            }
        });
    }
}
