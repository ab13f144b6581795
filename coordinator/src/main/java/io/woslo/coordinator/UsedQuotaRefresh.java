package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.QuotaBusyException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /used_quota?account=a&account=b}: force-refreshes those accounts' counters from their sources (every
 * account refreshed in the last 24 hours when none is named); a body is 400, since it would be ignored. 204 when
 * every account was refreshed. Otherwise the others stay refreshed and the answer names each account that was not,
 * and why: 409 {@code account_busy} when
 * every such account's write lock could not be taken within the wait (reservations stayed open), 503
 * {@code unavailable} when etcd or a source failed for any of them:
 * {@code {"error":"account_busy","message":"...","accounts":{"a":"<why>"}}}. A source that fails for one resource
 * keeps that resource's old counter and is logged; {@code GET /used_quota} then shows it as an error.
 */
final class UsedQuotaRefresh implements Handler<RoutingContext> {
    private static final Logger LOG = LoggerFactory.getLogger(UsedQuotaRefresh.class);
    private final QuotaManager quota;

    UsedQuotaRefresh(QuotaManager quota) {
        this.quota = quota;
    }

    @Override
    public void handle(RoutingContext ctx) {
        if (BodylessMethods.hasBody(ctx.request())) {
            // a body naming accounts would be ignored, and every known account refreshed instead
            ctx.fail(ApiException.badRequest("POST /used_quota takes no body; name the accounts in the query:"
                    + " /used_quota?account=a&account=b"));
            return;
        }
        List<String> named = ctx.queryParam("account");
        Replies.whenDone(ctx, () -> accounts(named).thenCompose(this::refreshAll), UsedQuotaRefresh::reply);
    }

    private CompletableFuture<List<String>> accounts(List<String> named) {
        return named.isEmpty()
                ? quota.recentAccountsAsync(QuotaManager.RECENT_ACCOUNTS_WINDOW)
                : CompletableFuture.completedFuture(named.stream().distinct().toList());
    }

    /** Refreshes every account; completes with the failure of each one that was not refreshed, by account. */
    private CompletableFuture<Map<String, Throwable>> refreshAll(List<String> accounts) {
        Map<String, Throwable> failed = new ConcurrentHashMap<>();
        CompletableFuture<?>[] refreshes = accounts.stream()
                .map(account -> quota.refreshAsync(account, true)
                        .handle((result, error) -> {
                            if (error != null) {
                                failed.put(account, ErrorMapper.unwrap(error));
                            } else if (!result.ok()) {
                                LOG.warn("refresh of account '{}' kept old counters for {}", account, result.errors());
                            }
                            return null;
                        }))
                .toArray(CompletableFuture[]::new);
        return CompletableFuture.allOf(refreshes).thenApply(v -> new TreeMap<>(failed));
    }

    private static void reply(RoutingContext ctx, Map<String, Throwable> failed) {
        if (failed.isEmpty()) {
            ctx.response().setStatusCode(204).end();
            return;
        }
        Map<String, String> why = new LinkedHashMap<>();
        failed.forEach((account, error) -> why.put(account, error.getMessage()));
        boolean allBusy = failed.values().stream().allMatch(e -> e instanceof QuotaBusyException);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", allBusy ? "account_busy" : "unavailable");
        body.put("message", why.size() + " account(s) not refreshed" + (allBusy
                ? ": their write lock could not be taken in time (reservations stayed open); retry later"
                : ": etcd or a resource's source did not answer in time"));
        body.put("accounts", why);
        if (!allBusy) {
            ctx.response().putHeader("Retry-After", ErrorMapper.RETRY_AFTER_SECONDS);
        }
        Replies.json(ctx, allBusy ? 409 : 503, body);
    }
}
