package io.woslo.lock;

import io.woslo.internal.Acquisition;
import io.woslo.internal.LockEngine;
import io.woslo.internal.LockOutcome;
import io.woslo.internal.LockPolicy;
import io.woslo.internal.LockRequest;
import io.woslo.internal.LossSignal;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The holds of one {@link RwLocks} instance, by lock key and owner id: what makes locks re-entrant. Concurrent
 * acquisitions by the same owner of the same key share one etcd queue entry and its outcome.
 */
final class LocalHolds {
    private static final Logger LOG = LoggerFactory.getLogger(LocalHolds.class);

    private final LockEngine engine;
    private final ConcurrentHashMap<HoldKey, Hold> holds = new ConcurrentHashMap<>();

    LocalHolds(LockEngine engine) {
        this.engine = engine;
    }

    record HoldKey(String lockKey, long ownerId) {
    }

    /** One etcd acquisition and the number of times its owner has taken it. */
    static final class Hold {
        final HoldKey key;
        final LockPolicy policy;
        final Duration leaseTime;
        final boolean keepAlive;
        /** The engine's outcome: {@link LockOutcome.Acquired} or {@link LockOutcome.TimedOut}. */
        final CompletableFuture<LockOutcome> outcome = new CompletableFuture<>();
        int count; // guarded by the map's compute

        Hold(HoldKey key, LockPolicy policy, Duration leaseTime, boolean keepAlive) {
            this.key = key;
            this.policy = policy;
            this.leaseTime = leaseTime;
            this.keepAlive = keepAlive;
        }

        /**
         * Whether the granted hold is known lost: its lease time passed by this process's clock (never in
         * keep-alive mode), or etcd showed its lease or entry gone ({@link LossSignal}).
         */
        boolean isLost() {
            Acquisition acquisition = acquisition();
            return acquisition != null && acquisition.loss() != null && acquisition.loss().isLost();
        }

        /** See {@link DistributedLock#lost()}; the hold must have been granted. */
        CompletableFuture<Void> lost() {
            return acquisition().loss().listen();
        }

        /** The acquisition once granted, else null. */
        Acquisition acquisition() {
            return outcome.getNow(null) instanceof LockOutcome.Acquired acquired ? acquired.acquisition() : null;
        }
    }

    /**
     * Takes the lock for {@code key}, joining this owner's current hold when there is one. Completes with the hold,
     * or empty when {@code maxWait} passed first.
     */
    CompletableFuture<Optional<Hold>> take(HoldKey key, LockPolicy policy, Duration leaseTime, boolean keepAlive,
                                           Duration maxWait) {
        Hold[] created = new Hold[1];
        Hold hold = holds.compute(key, (k, current) -> {
            if (current != null && current.isLost()) {
                LOG.warn("lock '{}' of owner {} had been lost (lease ended or entry removed); taking it anew",
                        k.lockKey(), k.ownerId());
                current = null;
            }
            if (current == null) {
                created[0] = new Hold(k, policy, leaseTime, keepAlive);
                created[0].count = 1;
                return created[0];
            }
            if (policy.isWrite() && !current.policy.isWrite()) {
                throw new IllegalStateException("owner " + k.ownerId() + " holds the read lock of '" + k.lockKey()
                        + "' and cannot upgrade it to the write lock; unlock the read lock first");
            }
            current.count++;
            return current;
        });
        if (created[0] != null) {
            start(created[0], maxWait);
        }
        return hold.outcome.thenApply(outcome -> outcome instanceof LockOutcome.Acquired
                ? Optional.of(hold) : Optional.empty());
    }

    private void start(Hold hold, Duration maxWait) {
        CompletableFuture<LockOutcome> attempt;
        try {
            attempt = engine.acquire(LockRequest.of(hold.key.lockKey(), hold.policy, hold.key.ownerId(),
                    hold.leaseTime, maxWait).withKeepAlive(hold.keepAlive));
        } catch (RuntimeException e) {
            holds.remove(hold.key, hold);
            hold.outcome.completeExceptionally(e);
            return;
        }
        attempt.whenComplete((outcome, error) -> {
            if (error != null || !(outcome instanceof LockOutcome.Acquired)) {
                holds.remove(hold.key, hold);
            }
            if (error != null) {
                hold.outcome.completeExceptionally(error);
            } else {
                hold.outcome.complete(outcome);
            }
        });
    }

    /** Gives back one count of {@code hold}; the last one releases it in etcd. */
    CompletableFuture<Void> release(Hold hold) {
        boolean[] current = new boolean[1];
        boolean[] last = new boolean[1];
        holds.computeIfPresent(hold.key, (k, cur) -> {
            if (cur != hold) {
                return cur;
            }
            current[0] = true;
            if (--cur.count == 0) {
                last[0] = true;
                return null;
            }
            return cur;
        });
        if (!current[0]) {
            // Replaced after it was lost: its entry needs no release, but what this engine still keeps for it
            // (a keep-alive, the record of the entry) does.
            LOG.warn("unlock of '{}' by owner {}: the lock was no longer held (it had been lost)",
                    hold.key.lockKey(), hold.key.ownerId());
            Acquisition acquisition = hold.acquisition();
            return acquisition == null ? CompletableFuture.completedFuture(null)
                    : engine.release(acquisition).handle((wasHeld, error) -> null);
        }
        if (!last[0]) {
            return CompletableFuture.completedFuture(null);
        }
        return engine.release(hold.acquisition()).thenAccept(wasHeld -> {
            if (!wasHeld) {
                LOG.warn("unlock of '{}' by owner {}: the lock was no longer held (its lease had ended)",
                        hold.key.lockKey(), hold.key.ownerId());
            }
        });
    }
}
