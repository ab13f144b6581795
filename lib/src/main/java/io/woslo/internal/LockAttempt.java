package io.woslo.internal;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One acquisition in progress: a state machine driven by etcd callbacks, never blocking a thread.
 *
 * <pre>
 * grant lease ─▶ enqueue ─┬─ guard failed ─────────────────────────────▶ Conflict
 *                         └▶ look ─┬─ free, no wait so far ─────────────▶ Acquired
 *                                  ├─ free after a wait ─▶ confirm ─────▶ Acquired (EntryConfirmation)
 *                                  ├─ blocked ─▶ blocker gone ─▶ look     (BlockerWait)
 *                                  ├─ blocked, no wait left ────────────▶ TimedOut
 *                                  └─ own entry missing ────────────────▶ failure
 * </pre>
 *
 * Every end but Acquired removes what the attempt put into etcd ({@link #cleanUp}): its lease is revoked, which
 * deletes its entry.
 */
final class LockAttempt {
    // Logs as LockEngine, as before the engine was split, so that operators' log filters keep working.
    private static final Logger LOG = LoggerFactory.getLogger(LockEngine.class);

    private final LockEngine engine;
    private final LockRequest request;
    private final String lockKey;
    private final CompletableFuture<LockOutcome> result = new CompletableFuture<>();
    /**
     * Completes when {@link #cleanUp} has removed the entry (or found nothing to remove); fails when the entry could
     * not be removed, so that a caller is never told its entry is gone while it may still be there.
     */
    private final CompletableFuture<Void> removed = new CompletableFuture<>();
    private final AtomicLong leaseToRevoke = new AtomicLong();
    /** Earlier entries known to be gone; touched only by the attempt's own (sequential) steps. */
    private final Set<String> passed = ConcurrentHashMap.newKeySet();
    private final long startNanos = System.nanoTime();
    private volatile long leaseId;
    /** {@link System#nanoTime()} just before the request that started the lease (or restarted it). */
    private volatile long leaseStartNanos;
    private volatile String entryKey;
    private volatile long revision;
    private volatile boolean waited;
    private volatile boolean noWait;
    private volatile RenewedLease keepAlive;

    private LockAttempt(LockEngine engine, LockRequest request) {
        this.engine = engine;
        this.request = request;
        this.lockKey = request.lockKey();
    }

    /**
     * Runs an attempt for {@code request}. An attempt that timed out reports it only once its entry is gone from
     * etcd, as the lock API promises.
     */
    static CompletableFuture<LockOutcome> run(LockEngine engine, LockRequest request) {
        LockAttempt attempt = new LockAttempt(engine, request);
        attempt.start();
        return attempt.result.thenCompose(outcome -> outcome instanceof LockOutcome.TimedOut
                ? attempt.removed.thenApply(ignored -> outcome)
                : CompletableFuture.completedFuture(outcome));
    }

    private void start() {
        noWait = request.maxWait().isZero();
        if (!noWait) {
            ScheduledFuture<?> deadline = engine.timer().schedule(this::onDeadline, request.maxWait().toNanos(),
                    TimeUnit.NANOSECONDS);
            result.whenComplete((a, e) -> deadline.cancel(false));
        }
        leaseStartNanos = System.nanoTime();
        Futures.bounded(engine.leases().grant(request.ttlSeconds()), engine.opTimeout(),
                        "a lease grant for lock '" + lockKey + "'")
                .thenCompose(grant -> enqueue(grant.getID()))
                .exceptionally(this::fail);
    }

    private CompletableFuture<Void> enqueue(long grantedLease) {
        leaseId = grantedLease;
        leaseToRevoke.set(grantedLease);
        if (result.isDone()) {
            cleanUp();
            return CompletableFuture.completedFuture(null);
        }
        if (request.keepAlive()) {
            RenewedLease renewed = RenewedLease.start(engine.leases(), engine.timer(), lockKey, leaseId);
            keepAlive = renewed;
            // A waiter whose kept-alive lease is gone has lost its entry: it stops waiting at once.
            renewed.gone().thenRun(() -> fail(entryEnded(lockKey, leaseId,
                    "its lease ended (expired or revoked)")));
        }
        entryKey = engine.own().register(lockKey, request.policy(), leaseId);
        return engine.queue().enqueue(request, entryKey, leaseId)
                .thenAccept(queue -> queue.ifPresentOrElse(this::evaluate, this::conflict));
    }

    /**
     * Decides on the queue as read at the enqueue. Entries created after this attempt's never block it, so the
     * snapshot is all it needs: it waits for the newest blocking entry, forgets it once gone, and decides again.
     */
    private void evaluate(List<QueueEntry> queue) {
        if (result.isDone()) {
            return;
        }
        LockPolicy.Look look = request.policy().look(queue, entryKey, this::isGone);
        if (look instanceof LockPolicy.Look.Free free) {
            revision = free.own().createRevision();
            grant();
        } else if (look instanceof LockPolicy.Look.Blocked blocked) {
            revision = blocked.own().createRevision();
            waitFor(blocked.blocker(), queue);
        } else {
            fail(entryEnded(lockKey, leaseId, "it is missing from the queue"));
        }
    }

    private boolean isGone(String earlierEntry) {
        return passed.contains(earlierEntry) || engine.own().isGone(earlierEntry);
    }

    private void waitFor(QueueEntry blocker, List<QueueEntry> queue) {
        waited = true;
        if (noWait) { // a one-look attempt, or the deadline passed before this look: give up now
            giveUp();
            return;
        }
        engine.blockers().gone(blocker, lockKey, result)
                .thenRun(() -> {
                    passed.add(blocker.key());
                    evaluate(queue);
                })
                .exceptionally(this::fail);
    }

    private void grant() {
        if (!waited) {
            complete(leaseStartNanos);
            return;
        }
        EntryConfirmation.confirm(engine, lockKey, entryKey, leaseId, revision, result)
                .thenAccept(this::complete)
                .exceptionally(this::fail);
    }

    /** The failure of an attempt whose queue entry ended before it was granted: nothing is held. */
    static EtcdUnavailableException entryEnded(String lockKey, long leaseId, String why) {
        return new EtcdUnavailableException("the wait for lock '" + lockKey + "' ended without the lock: " + why
                + " while waiting (lease " + Long.toHexString(leaseId) + "); nothing is held", null);
    }

    private void complete(long leaseStart) {
        RenewedLease renewed = keepAlive;
        Acquisition held = new Acquisition(lockKey, entryKey, request.policy(), leaseId, revision, renewed, true,
                null);
        LossSignal loss = new LossSignal(engine, held, leaseStart, request.leaseTime());
        if (result.complete(new LockOutcome.Acquired(held.withLoss(loss)))) {
            leaseToRevoke.set(0);
            engine.metrics().acquired(request.policy());
            waitEnded(LockMetrics.WaitOutcome.GRANTED);
            if (renewed != null) {
                renewed.gone().thenRun(() -> loss.lost("etcd answered the keep-alive: lease not found", true));
            }
        } else {
            cleanUp();
        }
    }

    /**
     * The wait is over. An attempt already waiting behind a blocker gives up; one that has not looked at the queue
     * yet (its lease grant or enqueue still in flight) becomes a one-look attempt, so a short wait on a free lock
     * still takes it, and a slow etcd is reported by the operation timeout, not by the wait. {@code noWait} is
     * written before {@code waited} is read here, and the other way round in {@link #waitFor}, so at least one of
     * the two sides gives up.
     */
    private void onDeadline() {
        noWait = true;
        if (waited) {
            giveUp();
        }
    }

    private void giveUp() {
        if (result.complete(new LockOutcome.TimedOut())) {
            waitEnded(LockMetrics.WaitOutcome.TIMEOUT);
            cleanUp();
        }
    }

    private void conflict() {
        if (result.complete(new LockOutcome.Conflict())) {
            cleanUp();
        }
    }

    private Void fail(Throwable error) {
        if (result.completeExceptionally(Futures.unwrap(error))) {
            waitEnded(LockMetrics.WaitOutcome.FAILED);
            cleanUp();
        }
        return null;
    }

    /** Counts the end of the wait, when this attempt found the lock held and waited. */
    private void waitEnded(LockMetrics.WaitOutcome outcome) {
        if (waited) {
            engine.metrics().waited(request.policy(), outcome, System.nanoTime() - startNanos);
        }
    }

    /** Removes what this attempt put into etcd. Safe to call more than once and from any state. */
    private void cleanUp() {
        engine.own().gone(entryKey);
        RenewedLease renewed = keepAlive;
        if (renewed != null) {
            renewed.close();
        }
        long lease = leaseToRevoke.getAndSet(0);
        if (lease == 0) {
            if (leaseId == 0) {
                removed.complete(null); // no lease yet, so no entry; one granted later is revoked in enqueue()
            }
            return; // otherwise the call that took the lease completes `removed` once it is revoked
        }
        Futures.bounded(engine.leases().revoke(lease), engine.opTimeout(), "a lease revoke").whenComplete((r, e) -> {
            if (e != null && !Futures.isNotFound(e)) {
                LOG.warn("could not remove the queue entry of lock '{}' (it ends with its lease): {}", lockKey,
                        e.getMessage());
                // Not removed is not removed: the caller must not be told its entry is gone.
                removed.completeExceptionally(new EtcdUnavailableException("the wait for lock '" + lockKey
                        + "' ended, but its queue entry could not be removed (it ends with its lease "
                        + Long.toHexString(lease) + "): " + e.getMessage(), e));
                return;
            }
            removed.complete(null);
        });
    }
}
