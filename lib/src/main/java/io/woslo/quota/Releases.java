package io.woslo.quota;

import io.woslo.internal.Acquisition;
import io.woslo.internal.Counter;
import io.woslo.internal.CounterStore;
import io.woslo.internal.Fence;
import io.woslo.internal.Futures;
import io.woslo.internal.LockLostException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives amounts back: {@code cleanUsed}, {@code rollback}, a reservation's rollback, and the undo of a reservation
 * that landed after its caller was told it failed. Each is ONE fenced counter transaction
 * ({@link CounterStore#update}) planned by {@link QuotaArithmetic#releasePlan}, under the caller's read lock or a
 * read lock taken for it.
 */
final class Releases {
    private static final Logger LOG = LoggerFactory.getLogger(Releases.class);

    private final CounterStore counters;
    private final AccountLock locks;
    private final Handlers handlers;
    private final QuotaArithmetic arithmetic;
    private final Idempotency idempotency;

    Releases(CounterStore counters, AccountLock locks, Handlers handlers, QuotaArithmetic arithmetic,
             Idempotency idempotency) {
        this.counters = counters;
        this.locks = locks;
        this.handlers = handlers;
        this.arithmetic = arithmetic;
        this.idempotency = idempotency;
    }

    /**
     * A release sent with an idempotency key (may be null): its claim goes in the release's transaction, and a
     * repeat answers the first outcome.
     */
    CompletableFuture<Void> releaseOnce(String account, Map<String, Long> amounts, long skipRefreshedAfter,
                                        boolean createMissing, Call call, IdempotencyKey key, String what) {
        CompletableFuture<Void> work = idempotency.claim(key, Map.of("applied", true))
                .thenCompose(claim -> release(account, amounts, skipRefreshedAfter, null, createMissing, call,
                        claim == null ? List.of() : List.of(claim.also()), what));
        return Idempotency.replayed(work, outcome -> null);
    }

    /**
     * Lowers counters by {@code amounts}, skipping those refreshed after {@code skipRefreshedAfterMillis}, with one
     * transaction fenced by {@code heldLock} (the caller's read lock), or by a read lock taken for the change when
     * that is null or its lease ended. A missing counter is created from its handler's figures when
     * {@code createMissing} (the source already reflects the deletion), else skipped.
     */
    CompletableFuture<Void> release(String account, Map<String, Long> amounts, long skipRefreshedAfterMillis,
                                    Acquisition heldLock, boolean createMissing, Call call, String what) {
        return release(account, amounts, skipRefreshedAfterMillis, heldLock, createMissing, call, List.of(), what);
    }

    /** {@link #release} with more guarded changes in the same transaction ({@link CounterStore.Also}). */
    CompletableFuture<Void> release(String account, Map<String, Long> amounts, long skipRefreshedAfterMillis,
                                    Acquisition heldLock, boolean createMissing, Call call,
                                    List<CounterStore.Also> also, String what) {
        Function<Acquisition, CompletableFuture<Map<String, Counter>>> change = lock -> counters
                .read(account, amounts.keySet())
                .thenCompose(current -> {
                    List<String> missing = createMissing ? current.entrySet().stream()
                            .filter(e -> !e.getValue().exists()).map(Map.Entry::getKey).toList() : List.of();
                    CompletableFuture<Map<String, Object>> truth = missing.isEmpty()
                            ? CompletableFuture.completedFuture(Map.of())
                            : handlers.truth(account, missing);
                    return truth.thenCompose(figures -> call.beginWrite()
                            ? counters.update(account, amounts.keySet(), current, Fence.of(lock), also,
                                    seen -> arithmetic.releasePlan(account, amounts, seen, skipRefreshedAfterMillis,
                                            figures))
                            : CompletableFuture.failedFuture(Call.abandonedBeforeWriting(what)));
                });
        CompletableFuture<Map<String, Counter>> done = heldLock != null
                ? change.apply(heldLock).exceptionallyCompose(error ->
                        Futures.unwrap(error) instanceof LockLostException
                                // the holder's lease ended: change under a lock of its own
                                ? locks.withReadLock(account, change)
                                : CompletableFuture.failedFuture(error))
                : locks.withReadLock(account, change);
        return done.thenAccept(written -> LOG.debug("{} for account '{}' lowered {}", what, account, written.keySet()));
    }

    /**
     * The undo of a reservation that landed after its caller was told it failed: its amounts given back, fenced by
     * an entry that landed with it ({@code landed}); counters refreshed since {@code failedAtMillis} already show the
     * truth and are left alone.
     */
    CompletableFuture<Void> undoLate(String account, Map<String, Long> amounts, long failedAtMillis,
                                     Acquisition landed) {
        return release(account, amounts, failedAtMillis, landed, false, Call.unbounded(),
                "undo of a late reservation");
    }
}
