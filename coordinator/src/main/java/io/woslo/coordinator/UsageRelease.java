package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.QuotaManager;
import java.util.Map;

/**
 * Gives amounts back, 204:
 * {@code POST /v1/usage/clean} {@code {"account","resources"}} when things are deleted (the Go edition's CleanUsed),
 * and
 * {@code POST /v1/rollbacks} {@code {"account","resources","errorTime"}} for a failure found later (the Go edition's
 * Rollback: counters refreshed after {@code errorTime} are left alone). 409 quota_abnormal when a counter would go
 * below zero; nothing changes then. Both take an {@code Idempotency-Key}.
 */
final class UsageRelease implements Handler<RoutingContext> {
    private final QuotaManager quota;
    private final boolean withErrorTime;

    private UsageRelease(QuotaManager quota, boolean withErrorTime) {
        this.quota = quota;
        this.withErrorTime = withErrorTime;
    }

    static UsageRelease clean(QuotaManager quota) {
        return new UsageRelease(quota, false);
    }

    static UsageRelease rollback(QuotaManager quota) {
        return new UsageRelease(quota, true);
    }

    @Override
    public void handle(RoutingContext ctx) {
        JsonBody body = JsonBody.of(ctx);
        String account = body.text("account");
        Map<String, Long> resources = body.amounts("resources");
        if (withErrorTime) {
            java.time.Instant errorTime = body.instant("errorTime");
            io.woslo.quota.IdempotencyKey key = IdempotencyHeader.of(ctx, account, resources, errorTime);
            Replies.whenDone(ctx, () -> quota.rollbackAsync(account, resources, errorTime, key), Replies::noContent);
        } else {
            io.woslo.quota.IdempotencyKey key = IdempotencyHeader.of(ctx, account, resources);
            Replies.whenDone(ctx, () -> quota.cleanUsedAsync(account, resources, key), Replies::noContent);
        }
    }
}
