package io.woslo.quota;

import io.woslo.internal.Counter;
import io.woslo.internal.CounterStore;
import io.woslo.internal.VersionedCounter;
import io.woslo.lock.LockMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Reads that change nothing: the check of cached counters against the handlers ({@code GET /used_quota}), the
 * accounts refreshed recently, and a dry run of a reservation. No lock is taken.
 */
final class Checker {
    private final CounterStore counters;
    private final AccountLock locks;
    private final Handlers handlers;
    private final QuotaArithmetic arithmetic;

    Checker(CounterStore counters, AccountLock locks, Handlers handlers, QuotaArithmetic arithmetic) {
        this.counters = counters;
        this.locks = locks;
        this.handlers = handlers;
        this.arithmetic = arithmetic;
    }

    /**
     * Each account's rows, in {@code accounts}' order; with {@code onlyErrors}, only rows with a mismatch or an error,
     * and no account with none.
     */
    CompletableFuture<Map<String, List<ResourceCheck>>> check(List<String> accounts, boolean onlyErrors) {
        Map<String, CompletableFuture<List<ResourceCheck>>> perAccount = new LinkedHashMap<>();
        accounts.forEach(account -> perAccount.put(account, checkAccount(account, onlyErrors)));
        return CompletableFuture.allOf(perAccount.values().toArray(CompletableFuture[]::new)).thenApply(v -> {
            Map<String, List<ResourceCheck>> out = new LinkedHashMap<>();
            perAccount.forEach((account, rows) -> {
                if (!onlyErrors || !rows.join().isEmpty()) {
                    out.put(account, rows.join());
                }
            });
            return out;
        });
    }

    private CompletableFuture<List<ResourceCheck>> checkAccount(String account, boolean onlyErrors) {
        List<String> resources = handlers.sortedNames();
        CompletableFuture<Map<String, VersionedCounter>> cached = counters.read(account, resources);
        CompletableFuture<Map<String, Object>> real = handlers.truth(account, resources);
        CompletableFuture<LockMode> lock = locks.mode(account);
        return CompletableFuture.allOf(cached, real, lock).thenApply(v -> {
            List<ResourceCheck> rows = new ArrayList<>();
            for (String resource : resources) {
                ResourceCheck row = checkRow(resource, cached.join().get(resource), real.join().get(resource),
                        lock.join());
                if (!onlyErrors || row.error()) {
                    rows.add(row);
                }
            }
            return rows;
        });
    }

    /** One resource's row: the handler's figures (or its error) against the cached counter. */
    static ResourceCheck checkRow(String resource, VersionedCounter cached, Object real, LockMode lock) {
        Counter counter = cached.counter();
        long cacheUsed = counter == null ? 0 : counter.used();
        long cacheQuota = counter == null ? 0 : counter.quota();
        long refreshedAt = counter == null ? 0 : counter.refreshedAt();
        if (!(real instanceof long[] figures)) {
            return new ResourceCheck(resource, 0, 0, cacheQuota, cacheUsed, refreshedAt, true, (String) real, lock);
        }
        String error = "";
        if (counter == null) {
            error = "no cached counter";
        } else if (figures[0] != cacheUsed || figures[1] != cacheQuota) {
            error = "cache differs from the handler: used " + cacheUsed + " vs " + figures[0] + ", quota "
                    + cacheQuota + " vs " + figures[1];
        }
        return new ResourceCheck(resource, figures[1], figures[0], cacheQuota, cacheUsed, refreshedAt,
                !error.isEmpty(), error, lock);
    }

    /** The accounts in the index refreshed within {@code window}, sorted. */
    CompletableFuture<List<String>> recentAccounts(Duration window) {
        long since = arithmetic.nowMillis() - window.toMillis();
        return counters.accounts().thenApply(all -> all.entrySet().stream()
                .filter(e -> e.getValue() >= since)
                .map(Map.Entry::getKey)
                .sorted()
                .toList());
    }

    /**
     * A dry run: one read of the counters, the handlers' quotas and (for missing or stale counters) used figures;
     * fails with the {@link QuotaExceededException} a real reservation would.
     */
    CompletableFuture<Void> dryRun(String account, Map<String, Long> wanted) {
        CompletableFuture<Map<String, Long>> quotas = handlers.quotas(account, wanted.keySet());
        return counters.read(account, wanted.keySet()).thenCompose(current -> {
            List<String> fromHandlers = current.entrySet().stream()
                    .filter(e -> !e.getValue().exists() || arithmetic.isStale(e.getValue().counter()))
                    .map(Map.Entry::getKey).toList();
            CompletableFuture<Map<String, Long>> truth = fromHandlers.isEmpty()
                    ? CompletableFuture.completedFuture(Map.of())
                    : handlers.used(account, fromHandlers);
            return quotas.thenCombine(truth, (limits, handlerUsed) -> {
                QuotaArithmetic.checkFits(account, wanted, limits, handlerUsed, current);
                return null;
            });
        });
    }
}
