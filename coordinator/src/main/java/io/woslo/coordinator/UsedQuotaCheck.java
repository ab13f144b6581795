package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.ResourceCheck;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /used_quota?account=a&account=b&filter_error=1}: cached counters beside the sources' figures, with the
 * original edition's field names. No account: every account refreshed in the last 24 hours.
 */
final class UsedQuotaCheck implements Handler<RoutingContext> {
    private final QuotaManager quota;

    UsedQuotaCheck(QuotaManager quota) {
        this.quota = quota;
    }

    @Override
    public void handle(RoutingContext ctx) {
        List<String> accounts = ctx.queryParam("account");
        boolean onlyErrors = isTrue(ctx.queryParam("filter_error"));
        Replies.whenDone(ctx, () -> quota.checkAsync(accounts, onlyErrors),
                (c, checks) -> Replies.json(c, 200, render(checks)));
    }

    private static boolean isTrue(List<String> values) {
        return !values.isEmpty() && (values.get(0).equals("1") || values.get(0).equalsIgnoreCase("true"));
    }

    private static Map<String, List<Map<String, Object>>> render(Map<String, List<ResourceCheck>> checks) {
        Map<String, List<Map<String, Object>>> out = new LinkedHashMap<>();
        checks.forEach((account, rows) -> out.put(account, rows.stream().map(UsedQuotaCheck::row).toList()));
        return out;
    }

    private static Map<String, Object> row(ResourceCheck check) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("ResourceName", check.resource());
        row.put("RealQuota", check.realQuota());
        row.put("RealUsed", check.realUsed());
        row.put("CacheQuota", check.cacheQuota());
        row.put("CacheUsed", check.cacheUsed());
        row.put("RefreshCacheTime", check.refreshedAtMillis());
        row.put("IsError", check.error());
        row.put("ErrorMsg", check.errorMessage());
        row.put("HasLock", switch (check.lock()) {
            case NONE -> "";
            case READ -> "read";
            case WRITE -> "write";
        });
        return row;
    }
}
