package io.woslo.quota;

import io.woslo.internal.Acquisition;
import io.woslo.internal.Counter;
import io.woslo.internal.CounterStore;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Fence;
import io.woslo.internal.Futures;
import io.woslo.internal.VersionedCounter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-syncs counters from the handlers under the account's WRITE lock: it waits for reservations in flight to close
 * and never erases one. The handlers are asked while the lock is held, and the counters are written by a
 * transaction fenced by the lock's entry: a refresh whose lock ended meanwhile (a slow handler, a pause) writes
 * nothing.
 */
final class Refresher {
    private static final Logger LOG = LoggerFactory.getLogger(Refresher.class);

    private final CounterStore counters;
    private final AccountLock locks;
    private final Handlers handlers;
    private final QuotaArithmetic arithmetic;

    Refresher(CounterStore counters, AccountLock locks, Handlers handlers, QuotaArithmetic arithmetic) {
        this.counters = counters;
        this.locks = locks;
        this.handlers = handlers;
        this.arithmetic = arithmetic;
    }

    /**
     * Re-syncs {@code names} (all resources when empty) under the account's write lock, taken within {@code wait}.
     * Without {@code force}, counters refreshed within {@link QuotaManager#REFRESH_DEBOUNCE} are skipped.
     */
    CompletableFuture<RefreshResult> refresh(String account, boolean force, List<String> names, Duration wait) {
        List<String> all = names.isEmpty() ? List.copyOf(handlers.names()) : names;
        return locks.lock(account, true, wait).thenCompose(lock -> counters.read(account, all)
                .thenCompose(current -> {
                    List<String> skipped = new ArrayList<>();
                    List<String> due = arithmetic.dueForRefresh(all, current, force, QuotaManager.REFRESH_DEBOUNCE,
                            skipped);
                    return handlers.truth(account, due)
                            .thenCompose(truth -> writeTruth(account, current, truth, skipped, lock));
                })
                .handle((result, error) -> locks.unlock(lock).thenCompose(v -> error == null
                        ? CompletableFuture.completedFuture(result)
                        : CompletableFuture.<RefreshResult>failedFuture(error)))
                .thenCompose(Function.identity()));
    }

    /** Refreshes {@code resources} if the account's write lock can be taken at once; otherwise leaves them. */
    CompletableFuture<Void> refreshIfFree(String account, List<String> resources) {
        return refresh(account, false, resources, Duration.ZERO).handle((result, error) -> {
            if (error != null) {
                LOG.debug("stale counters of account '{}' not refreshed now ({}); reserving on them",
                        account, Futures.unwrap(error).getMessage());
            }
            return null;
        });
    }

    private CompletableFuture<RefreshResult> writeTruth(String account, Map<String, VersionedCounter> current,
                                                        Map<String, Object> truth, List<String> skipped,
                                                        Acquisition lock) {
        long now = arithmetic.nowMillis();
        Map<String, String> errors = new LinkedHashMap<>();
        Map<String, Counter> fresh = new LinkedHashMap<>();
        truth.forEach((resource, figures) -> {
            if (figures instanceof long[] usedAndQuota) {
                fresh.put(resource, new Counter(usedAndQuota[0], usedAndQuota[1], now));
            } else {
                errors.put(resource, (String) figures);
                LOG.warn("refresh of account '{}': {}", account, figures);
            }
        });
        Map<String, VersionedCounter> snapshot = new LinkedHashMap<>();
        fresh.keySet().forEach(resource -> snapshot.put(resource, current.get(resource)));
        return counters.update(account, fresh.keySet(), snapshot, Fence.of(lock),
                        seen -> unchangedOrRefuse(account, seen, snapshot, fresh))
                .thenCompose(w -> fresh.isEmpty()
                        ? CompletableFuture.completedFuture(null)
                        : counters.touchAccount(account, now))
                .thenApply(v -> new RefreshResult(account, List.copyOf(fresh.keySet()), skipped, errors));
    }

    /**
     * Under the write lock no reservation or release changes a counter's value (a settlement may rewrite one
     * unchanged: a new mod revision, the same value). Any other change is one this refresh must not erase.
     */
    private static Map<String, Counter> unchangedOrRefuse(String account, Map<String, VersionedCounter> seen,
                                                          Map<String, VersionedCounter> snapshot,
                                                          Map<String, Counter> fresh) {
        seen.forEach((resource, latest) -> {
            if (!Objects.equals(latest.counter(), snapshot.get(resource).counter())) {
                throw new EtcdUnavailableException("the counter of resource '" + resource + "' of account '"
                        + account + "' changed during a refresh that held the write lock; not overwritten", null);
            }
        });
        return fresh;
    }
}
