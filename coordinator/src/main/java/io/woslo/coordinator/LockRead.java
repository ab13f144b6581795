package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.lock.LockDescription;
import io.woslo.lock.LockEntry;
import io.woslo.lock.LockMode;
import io.woslo.lock.RwLocks;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A lock's queue, and the operator's force-release of one entry:
 *
 * <ul>
 * <li>{@code GET /v1/locks/{key}}: 200 {@code {"key","mode":"none|read|write","holders":[Entry],"waiters":[Entry]}},
 * Entry {@code {"entry","mode","owner","revision","leaseId","leaseLeftSeconds"}}, waiters in queue order (create
 * revision). A lock nobody holds is 200 with mode none and empty lists. The account lock of account {@code a} is
 * {@code quota/a} ({@code /v1/locks/quota%2Fa}).</li>
 * <li>{@code DELETE /v1/locks/{key}/entries/{entry}}: deletes exactly that entry's key; 204, or 404
 * {@code unknown_entry} when there is none; 400 for an entry name that is empty or contains {@code /} (nothing
 * changed). The holder learns of it only through its lock's {@code lost()}.</li>
 * </ul>
 */
final class LockRead {
    private LockRead() {
    }

    static Handler<RoutingContext> describe(RwLocks locks) {
        return ctx -> {
            String key = ctx.pathParam("key");
            Replies.whenDone(ctx, () -> locks.describeAsync(key), (c, lock) -> Replies.json(c, 200, body(lock)));
        };
    }

    static Handler<RoutingContext> forceRelease(RwLocks locks) {
        return ctx -> {
            String key = ctx.pathParam("key");
            String entry = ctx.pathParam("entry");
            Replies.whenDone(ctx, () -> locks.forceReleaseAsync(key, entry), (c, deleted) -> {
                if (deleted) {
                    c.response().setStatusCode(204).end();
                } else {
                    c.fail(new ApiException(404, "unknown_entry", "lock '" + key + "' has no entry '" + entry + "'"));
                }
            });
        };
    }

    /** {@code DELETE /v1/locks/{key}/entries/} (no entry name): 400, nothing changed. */
    static Handler<RoutingContext> emptyEntry() {
        return ctx -> ctx.fail(ApiException.badRequest("lock entry name must not be empty: DELETE"
                + " /v1/locks/{key}/entries/{entry} names one entry, as GET /v1/locks/{key} lists them"));
    }

    static Map<String, Object> body(LockDescription lock) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("key", lock.key());
        out.put("mode", mode(lock.mode()));
        out.put("holders", entries(lock.holders()));
        out.put("waiters", entries(lock.waiters()));
        return out;
    }

    private static List<Map<String, Object>> entries(List<LockEntry> entries) {
        return entries.stream().map(entry -> {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("entry", entry.entry());
            out.put("mode", mode(entry.mode()));
            out.put("owner", entry.owner());
            out.put("revision", entry.revision());
            out.put("leaseId", Long.toHexString(entry.leaseId()));
            out.put("leaseLeftSeconds", entry.leaseLeftSeconds());
            return out;
        }).toList();
    }

    private static String mode(LockMode mode) {
        return mode.name().toLowerCase(Locale.ROOT);
    }
}
