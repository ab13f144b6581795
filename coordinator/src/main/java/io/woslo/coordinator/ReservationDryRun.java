package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.QuotaManager;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code POST /v1/reservations?dryRun=true}: the answer a real reservation would give, changing nothing (no counter,
 * lock or record is written). The body is checked as for a real call (400, 415); then 200
 * {@code {"fits":true,"account","resources"}} ({@code resources}: the non-zero amounts asked), or the 409
 * {@code quota_exceeded} a real call gives, or 503. {@code dryRun=false} or no {@code dryRun} passes the request to
 * the real create; any other value (or {@code dryRun} given twice) is 400.
 */
final class ReservationDryRun implements Handler<RoutingContext> {
    static final String PARAM = "dryRun";

    private final QuotaManager quota;
    private final Handler<RoutingContext> create;

    private ReservationDryRun(QuotaManager quota, Handler<RoutingContext> create) {
        this.quota = quota;
        this.create = create;
    }

    /** The handler of {@code POST /v1/reservations}: a dry run when asked, else a {@link ReservationCreate}. */
    static ReservationDryRun orCreate(QuotaManager quota) {
        return new ReservationDryRun(quota, new ReservationCreate(quota));
    }

    @Override
    public void handle(RoutingContext ctx) {
        if (!dryRun(ctx.queryParam(PARAM))) {
            create.handle(ctx);
            return;
        }
        JsonBody body = JsonBody.of(ctx);
        String account = body.text("account");
        Map<String, Long> resources = body.amounts("resources");
        Replies.whenDone(ctx, () -> quota.dryRunAsync(account, resources), (c, fits) -> {
            Map<String, Long> asked = new TreeMap<>();
            resources.forEach((resource, amount) -> {
                if (amount > 0) {
                    asked.put(resource, amount);
                }
            });
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            out.put("fits", true);
            out.put("account", account);
            out.put("resources", asked);
            Replies.json(c, 200, out);
        });
    }

    private static boolean dryRun(List<String> values) {
        if (values.isEmpty()) {
            return false;
        }
        if (values.size() > 1) {
            throw ApiException.badRequest("'" + PARAM + "' is given " + values.size() + " times; give it once");
        }
        return switch (values.get(0)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw ApiException.badRequest("'" + PARAM + "' must be true or false, got '" + values.get(0)
                    + "'");
        };
    }
}
