package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.RefreshResult;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /used_quota?account=a&account=b}: force-refreshes those accounts' counters from their sources (every
 * account refreshed in the last 24 hours when none is named); 204. A source that fails keeps its old counter and
 * is logged; {@code GET /used_quota} then shows it as an error.
 */
final class UsedQuotaRefresh implements Handler<RoutingContext> {
    private static final Logger LOG = LoggerFactory.getLogger(UsedQuotaRefresh.class);
    private final QuotaManager quota;

    UsedQuotaRefresh(QuotaManager quota) {
        this.quota = quota;
    }

    @Override
    public void handle(RoutingContext ctx) {
        List<String> named = ctx.queryParam("account");
        Replies.whenDone(ctx, () -> accounts(named).thenCompose(this::refreshAll), Replies::noContent);
    }

    private CompletableFuture<List<String>> accounts(List<String> named) {
        return named.isEmpty()
                ? quota.recentAccountsAsync(QuotaManager.RECENT_ACCOUNTS_WINDOW)
                : CompletableFuture.completedFuture(named.stream().distinct().toList());
    }

    private CompletableFuture<Void> refreshAll(List<String> accounts) {
        CompletableFuture<?>[] refreshes = accounts.stream()
                .map(account -> quota.refreshAsync(account, true).thenAccept(UsedQuotaRefresh::logErrors))
                .toArray(CompletableFuture[]::new);
        return CompletableFuture.allOf(refreshes);
    }

    private static void logErrors(RefreshResult result) {
        if (!result.ok()) {
            LOG.warn("refresh of account '{}' kept old counters for {}", result.account(), result.errors());
        }
    }
}
