package io.woslo.coordinator;

import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.StoredReservation;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The reads of stored reservations, each answered with the record shape
 * {@code {"id","account","resources","reservedAt","expiresAt"}} (times in epoch milliseconds, as the 201 of a
 * create):
 *
 * <ul>
 * <li>{@code GET /v1/reservations/{id}}: 200 the record; 404 {@code not_found} when the id is unknown or the
 * reservation ended (a no-op reservation's id included: nothing is stored for it); 400 for an id no reservation can
 * have (over 256 characters, an unpaired surrogate), as for finally and rollback.</li>
 * <li>{@code GET /v1/reservations?account=a}: 200 {@code {"reservations":[...]}}, the account's open reservations
 * sorted by {@code reservedAt}; 400 without exactly one {@code account}. It reads every open reservation of the
 * namespace (there is no index by account).</li>
 * </ul>
 */
final class ReservationRead {
    private ReservationRead() {
    }

    static io.vertx.core.Handler<RoutingContext> one(QuotaManager quota) {
        return ctx -> {
            String id = ctx.pathParam("id");
            Replies.whenDone(ctx, () -> quota.findStoredAsync(id), (c, found) -> {
                if (found.isPresent()) {
                    Replies.json(c, 200, record(found.get()));
                } else {
                    c.fail(new ApiException(404, "not_found", "no open reservation with id '" + id + "'"));
                }
            });
        };
    }

    static io.vertx.core.Handler<RoutingContext> ofAccount(QuotaManager quota) {
        return ctx -> {
            List<String> accounts = ctx.queryParam("account");
            if (accounts.size() != 1) {
                throw ApiException.badRequest(accounts.isEmpty()
                        ? "'account' is required, e.g. /v1/reservations?account=account1"
                        : "'account' is given " + accounts.size() + " times; give it once");
            }
            Replies.whenDone(ctx, () -> quota.listStoredAsync(accounts.get(0)), (c, list) -> Replies.json(c, 200,
                    Map.of("reservations", list.stream().map(ReservationRead::record).toList())));
        };
    }

    static Map<String, Object> record(StoredReservation reservation) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", reservation.id());
        out.put("account", reservation.account());
        out.put("resources", new TreeMap<>(reservation.amounts()));
        out.put("reservedAt", reservation.reservedAtMillis());
        out.put("expiresAt", reservation.expiresAtMillis());
        return out;
    }
}
