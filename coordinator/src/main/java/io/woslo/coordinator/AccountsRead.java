package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.lock.LockDescription;
import io.woslo.lock.RwLocks;
import io.woslo.quota.AccountPage;
import io.woslo.quota.AccountState;
import io.woslo.quota.CachedCounter;
import io.woslo.quota.QuotaAccounts;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.ResourceCheck;
import io.woslo.quota.StoredReservation;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The console's account reads, from etcd only unless the sources are asked for:
 *
 * <ul>
 * <li>{@code GET /v1/accounts?search=&limit=&after=}: 200 {@code {"accounts":[{"account","refreshedAt",
 * "resources":{"<resource>":{"used","quota"}},"overQuota"}],"next"}}, sorted by name; {@code search} a substring
 * (ignoring case), {@code limit} 1..1000 (default 200), {@code after} the {@code next} of the previous page. Two
 * prefix reads of etcd, no handler call.</li>
 * <li>{@code GET /v1/accounts/{account}?check=true}: 200 {@code {"account","refreshedAt","resources":[{"resource",
 * "used","quota","refreshedAt"(,"source":{"used","quota","error"},"mismatch")}],"reservations":[...],"lock":{...}}};
 * {@code source} and {@code mismatch} only with {@code check=true}, which asks the handlers as
 * {@code GET /used_quota} does; 404 {@code unknown_account} when etcd holds neither counters nor an index entry for
 * it.</li>
 * </ul>
 */
final class AccountsRead {
    private AccountsRead() {
    }

    static Handler<RoutingContext> list(QuotaAccounts accounts) {
        return ctx -> {
            String search = Query.single(ctx, "search");
            String after = Query.single(ctx, "after");
            int limit = limit(Query.single(ctx, "limit"));
            Replies.whenDone(ctx, () -> accounts.listAsync(search, limit, after),
                    (c, page) -> Replies.json(c, 200, page(page)));
        };
    }

    static Handler<RoutingContext> one(QuotaAccounts accounts, QuotaManager quota, RwLocks locks) {
        return ctx -> {
            String account = ctx.pathParam("account");
            boolean check = Query.flag(ctx, "check");
            Replies.whenDone(ctx, () -> accounts.readAsync(account).thenCompose(state -> state.isEmpty()
                    ? CompletableFuture.completedFuture(Optional.<Map<String, Object>>empty())
                    : view(state.get(), check, quota, locks).thenApply(Optional::of)), (c, view) -> {
                        if (view.isPresent()) {
                            Replies.json(c, 200, view.get());
                        } else {
                            c.fail(new ApiException(404, "unknown_account", "etcd holds no counters and no index"
                                    + " entry for account '" + account + "'"));
                        }
                    });
        };
    }

    private static int limit(String value) {
        if (value == null) {
            return QuotaAccounts.DEFAULT_PAGE;
        }
        try {
            int limit = Integer.parseInt(value);
            if (limit >= 1 && limit <= QuotaAccounts.MAX_PAGE) {
                return limit;
            }
        } catch (NumberFormatException notANumber) {
            // the message below names it
        }
        throw ApiException.badRequest("'limit' must be a whole number from 1 to " + QuotaAccounts.MAX_PAGE
                + ", got '" + value + "'");
    }

    private static Map<String, Object> page(AccountPage page) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("accounts", page.accounts().stream().map(AccountsRead::summary).toList());
        out.put("next", page.next());
        return out;
    }

    private static Map<String, Object> summary(AccountState state) {
        Map<String, Object> resources = new LinkedHashMap<>();
        state.resources().forEach((resource, counter) -> {
            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("used", counter.used());
            figures.put("quota", counter.quota());
            resources.put(resource, figures);
        });
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("account", state.account());
        out.put("refreshedAt", state.refreshedAtMillis());
        out.put("resources", resources);
        out.put("overQuota", state.overQuota());
        return out;
    }

    private static CompletableFuture<Map<String, Object>> view(AccountState state, boolean check, QuotaManager quota,
                                                               RwLocks locks) {
        String account = state.account();
        CompletableFuture<Map<String, List<ResourceCheck>>> checks = check
                ? quota.checkAsync(List.of(account), false) : CompletableFuture.completedFuture(Map.of());
        CompletableFuture<List<StoredReservation>> reservations = quota.listStoredAsync(account);
        CompletableFuture<LockDescription> lock = locks.describeAsync(QuotaAccounts.lockKey(account));
        return CompletableFuture.allOf(checks, reservations, lock).thenApply(done -> {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("account", account);
            out.put("refreshedAt", state.refreshedAtMillis());
            out.put("resources", resources(state, check, checks.join().getOrDefault(account, List.of())));
            out.put("reservations", reservations.join().stream().map(ReservationRead::record).toList());
            out.put("lock", LockRead.body(lock.join()));
            return out;
        });
    }

    /** One row per cached counter, and with {@code check} one per resource the coordinator has a handler for. */
    private static List<Map<String, Object>> resources(AccountState state, boolean check, List<ResourceCheck> rows) {
        Map<String, Map<String, Object>> out = new TreeMap<>();
        state.resources().forEach((resource, counter) -> out.put(resource, cached(resource, counter)));
        if (check) {
            out.values().forEach(row -> {
                row.put("source", null);
                row.put("mismatch", true); // a counter no handler stands behind
            });
            for (ResourceCheck row : rows) {
                Map<String, Object> line = out.computeIfAbsent(row.resource(), r -> cached(r, null));
                boolean failed = handlerFailed(row);
                Map<String, Object> source = new LinkedHashMap<>();
                source.put("used", failed ? null : row.realUsed());
                source.put("quota", failed ? null : row.realQuota());
                source.put("error", failed ? row.errorMessage() : null);
                line.put("source", source);
                line.put("mismatch", row.error());
            }
        }
        return List.copyOf(out.values());
    }

    private static Map<String, Object> cached(String resource, CachedCounter counter) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("resource", resource);
        row.put("used", counter == null ? null : counter.used());
        row.put("quota", counter == null ? null : counter.quota());
        row.put("refreshedAt", counter == null ? null : counter.refreshedAtMillis());
        return row;
    }

    /**
     * Whether the check's row is a handler's failure rather than a comparison: {@link QuotaManager#check} reports
     * both as an error; a comparison's message is one of the two below, anything else is the handler's.
     */
    private static boolean handlerFailed(ResourceCheck row) {
        String message = row.errorMessage() == null ? "" : row.errorMessage();
        return row.error() && !message.equals("no cached counter")
                && !message.startsWith("cache differs from the handler");
    }
}
