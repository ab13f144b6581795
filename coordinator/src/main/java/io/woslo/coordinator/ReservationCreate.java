package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.StoredReservation;
import java.util.Map;

/**
 * {@code POST /v1/reservations} with {@code {"account":"a","resources":{"CPUA":1}}}: reserves all or nothing and
 * keeps the reservation in etcd on its lock lease, so any coordinator can end it. 201
 * {@code {"id","account","resources","reservedAt","expiresAt"}} (times in epoch milliseconds). With an
 * {@code Idempotency-Key}, the same request sent again answers the same reservation and makes no other.
 */
final class ReservationCreate implements Handler<RoutingContext> {
    private final QuotaManager quota;

    ReservationCreate(QuotaManager quota) {
        this.quota = quota;
    }

    @Override
    public void handle(RoutingContext ctx) {
        JsonBody body = JsonBody.of(ctx);
        String account = body.text("account");
        Map<String, Long> resources = body.amounts("resources");
        io.woslo.quota.IdempotencyKey key = IdempotencyHeader.of(ctx, account, resources);
        Replies.whenDone(ctx, () -> quota.prepareStoredAsync(account, resources, key), ReservationCreate::created);
    }

    private static void created(RoutingContext ctx, StoredReservation reservation) {
        ctx.response().putHeader("Location", "/v1/reservations/" + reservation.id());
        Replies.json(ctx, 201, ReservationRead.record(reservation));
    }
}
