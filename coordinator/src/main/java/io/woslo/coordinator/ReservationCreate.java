package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.StoredReservation;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code POST /v1/reservations} with {@code {"account":"a","resources":{"CPUA":1}}}: reserves all or nothing and
 * keeps the reservation in etcd on its lock lease, so any coordinator can end it. 201
 * {@code {"id","account","resources","expiresAt"}} ({@code expiresAt} in epoch milliseconds).
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
        Replies.whenDone(ctx, () -> quota.prepareStoredAsync(account, resources), ReservationCreate::created);
    }

    private static void created(RoutingContext ctx, StoredReservation reservation) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", reservation.id());
        out.put("account", reservation.account());
        out.put("resources", new java.util.TreeMap<>(reservation.amounts()));
        out.put("expiresAt", reservation.expiresAtMillis());
        ctx.response().putHeader("Location", "/v1/reservations/" + reservation.id());
        Replies.json(ctx, 201, out);
    }
}
