package io.woslo.quota;

import io.woslo.internal.Acquisition;
import io.woslo.internal.CounterStore;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Fence;
import io.woslo.internal.Futures;
import io.woslo.internal.OutcomeUnknownException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The slow path of a reservation: takes the account's read lock through the lock engine (waiting for a refresh at
 * most {@link AccountLock#lockWait()}), reads the counters and reserves with one fenced compare-and-swap. A stale
 * counter is refreshed first only if the write lock is free at once; staleness never makes a reservation wait. A
 * missing counter is created from its handler's figures in the reservation's own transaction. The fast path hands a
 * request here when a writer is queued, a counter is missing or stale, or the request is too big for a batch.
 */
final class SlowReserver {
    private static final Logger LOG = LoggerFactory.getLogger(SlowReserver.class);
    /** How often, and how far apart, a lost reservation write is settled before a refresh is left to fix it. */
    private static final int LOST_WRITE_ATTEMPTS = 20;
    private static final Duration LOST_WRITE_PAUSE = Duration.ofMillis(500);

    private final CounterStore counters;
    private final AccountLock locks;
    private final Handlers handlers;
    private final QuotaArithmetic arithmetic;
    private final Refresher refresher;
    private final Releases releases;

    SlowReserver(CounterStore counters, AccountLock locks, Handlers handlers, QuotaArithmetic arithmetic,
                 Refresher refresher, Releases releases) {
        this.counters = counters;
        this.locks = locks;
        this.handlers = handlers;
        this.arithmetic = arithmetic;
        this.refresher = refresher;
        this.releases = releases;
    }

    /** Reserves {@code wanted}; {@code attachment} (may be null) is written in the reservation's transaction. */
    CompletableFuture<Reserved> reserve(String account, Map<String, Long> wanted, Attachment attachment) {
        return reserve(account, wanted, true, attachment);
    }

    private CompletableFuture<Reserved> reserve(String account, Map<String, Long> wanted, boolean mayRefresh,
                                                Attachment attachment) {
        CompletableFuture<Map<String, Long>> quotas = handlers.quotas(account, wanted.keySet());
        return locks.lock(account, false, locks.lockWait()).thenCompose(lock -> counters.read(account, wanted.keySet())
                .thenCompose(current -> {
                    List<String> stale = arithmetic.stale(current);
                    if (!stale.isEmpty() && mayRefresh) {
                        return locks.unlock(lock)
                                .thenCompose(v -> refresher.refreshIfFree(account, stale))
                                .thenCompose(refreshed -> reserve(account, wanted, false, attachment));
                    }
                    List<String> missing = current.entrySet().stream()
                            .filter(e -> !e.getValue().exists()).map(Map.Entry::getKey).toList();
                    CompletableFuture<Map<String, Long>> used = missing.isEmpty()
                            ? CompletableFuture.completedFuture(Map.of())
                            : handlers.used(account, missing);
                    return quotas.thenCombine(used, (limits, truth) -> Map.entry(limits, truth))
                            .thenCompose(figures -> counters.update(account, wanted.keySet(), current, Fence.of(lock),
                                    attachment == null ? List.of() : attachment.underLock(lock),
                                    plan -> arithmetic.reservePlan(account, wanted, figures.getKey(),
                                            figures.getValue(), plan)))
                            .thenApply(written -> new Reserved(account, wanted, lock, arithmetic.nowMillis()));
                })
                .exceptionallyCompose(error -> lost(account, wanted, lock, attachment, error)));
    }

    /** A failed reservation: its lock released, or, when its answer was lost, settled in the background. */
    private CompletableFuture<Reserved> lost(String account, Map<String, Long> wanted, Acquisition lock,
                                             Attachment attachment, Throwable error) {
        if (Futures.unwrap(error) instanceof OutcomeUnknownException unknown && unknown.lostWrite() != null) {
            if (attachment != null && attachment.keptWhenLost()) {
                keepLostReservation(lock, unknown.lostWrite());
                return CompletableFuture.failedFuture(unknown);
            }
            settleLostReservation(account, wanted, lock, unknown.lostWrite(), arithmetic.nowMillis());
            return CompletableFuture.failedFuture(new EtcdUnavailableException("etcd did not confirm the"
                    + " reservation in time; if it landed, it is given back", unknown));
        }
        return locks.unlock(lock).thenCompose(v -> CompletableFuture.failedFuture(error));
    }

    /**
     * A reservation whose write was neither confirmed nor settled in time: its caller is told it was not applied,
     * so it is settled here in the background, its lock still held: if it landed, its amounts are given back (fenced
     * by its lock, or under a new one if that ended; counters refreshed since are left alone); then its lock is
     * released.
     */
    private void settleLostReservation(String account, Map<String, Long> amounts, Acquisition lock,
                                       CounterStore.LostWrite lost, long failedAtMillis) {
        Futures.retry(() -> counters.settle(lost), LOST_WRITE_ATTEMPTS, LOST_WRITE_PAUSE, e -> true)
                .thenCompose(landed -> {
                    if (!landed) {
                        return CompletableFuture.<Void>completedFuture(null);
                    }
                    LOG.warn("a reservation of account '{}' reported as not applied had landed; giving it back",
                            account);
                    return releases.undoLate(account, amounts, failedAtMillis, lock);
                })
                .whenComplete((v, e) -> {
                    if (e != null) {
                        LOG.error("could not settle a reservation of account '{}' whose answer was lost; a refresh"
                                + " corrects its counters: {}", account, Futures.unwrap(e).toString());
                    }
                    locks.unlock(lock);
                });
    }

    /**
     * A reservation whose write was neither confirmed nor settled in time, and whose caller was told the outcome is
     * unknown (it retries with its idempotency key to learn it): if it landed it stands, holding its lock until it
     * is ended or its lease ends; if it did not, its lock is released.
     */
    private void keepLostReservation(Acquisition lock, CounterStore.LostWrite lost) {
        Futures.retry(() -> counters.settle(lost), LOST_WRITE_ATTEMPTS, LOST_WRITE_PAUSE, e -> true)
                .whenComplete((landed, e) -> {
                    if (e == null && !landed) {
                        locks.unlock(lock); // surely not applied; when it cannot be told, the lock ends with its lease
                    }
                });
    }
}
