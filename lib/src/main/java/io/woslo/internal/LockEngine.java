package io.woslo.internal;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Lease;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The one lock engine behind read and write locks: a queue of entries under {@code <ns>/locks/<key>/}, ordered by
 * etcd create revision, each entry on a lease.
 *
 * <p>To acquire, an entry is put and the queue read back in one transaction ({@link LockQueue}). The entry holds the
 * lock when no earlier entry blocks it ({@link LockPolicy}: any earlier entry blocks a writer, only earlier writers
 * block a reader), which makes the queue FIFO and keeps later readers from starving a waiting writer. Otherwise
 * the waiter waits for the newest blocking entry to be gone ({@link BlockerWait}), then looks again, since an older
 * blocker may remain ({@link LockAttempt}, the attempt's state machine).
 *
 * <p>A waiter passes a blocker only on evidence that the blocker is gone: a delete event, a linearizable read that
 * shows it gone, or (for an entry of this engine, {@link OwnEntries}) its holder letting go. A watch error, a failed
 * read or a timeout is never such evidence; see {@link KeyGoneWatch}. Before a waiter is granted it confirms, in one
 * round trip made of two concurrent calls, that its lease still lives (restarting it) and that its entry still
 * exists.
 *
 * <p>Every wait is bounded: when {@code maxWait} passes, the entry's lease is revoked (which deletes the entry) before
 * the caller is told. Every etcd call is bounded by the operation timeout. A held entry's lease is kept alive
 * ({@link RenewedLease}) when asked; what is known of its loss is its {@link LossSignal}. Entries on leases shared
 * with other entries are released by a delete ({@link SharedLeaseEntries}).
 */
public final class LockEngine implements AutoCloseable {
    private final Lease leases;
    private final KeyLayout layout;
    private final Duration opTimeout;
    private final ScheduledExecutorService timer;
    private final LockMetrics metrics;
    private final LockQueue queue;
    private final OwnEntries own;
    private final BlockerWait blockers;
    private final SharedLeaseEntries shared;

    /** An engine whose releases of entries on shared leases are committed on their own. */
    public LockEngine(Client client, KeyLayout layout, Duration opTimeout, LockMetrics metrics) {
        this(client, layout, opTimeout, new TxnCombiner(client.getKVClient(), opTimeout), metrics);
    }

    /**
     * An engine whose releases of entries on shared leases go through {@code deletes}, which may carry other
     * transactions' parts too (the quota fast path's reservations: a release then costs no transaction of its own).
     * Grants, waits and losses are reported to {@code metrics}.
     */
    public LockEngine(Client client, KeyLayout layout, Duration opTimeout, TxnCombiner deletes, LockMetrics metrics) {
        this.metrics = metrics;
        this.leases = client.getLeaseClient();
        this.layout = layout;
        this.opTimeout = opTimeout;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "woslo-lock-timer");
            t.setDaemon(true);
            return t;
        });
        this.queue = new LockQueue(client.getKVClient(), layout, opTimeout);
        this.own = new OwnEntries(layout);
        this.blockers = new BlockerWait(client.getWatchClient(), client.getKVClient(), timer, opTimeout, own);
        this.shared = new SharedLeaseEntries(deletes);
    }

    public KeyLayout layout() {
        return layout;
    }

    /** Where this engine's grants, waits and losses are counted; entries granted elsewhere are counted there too. */
    public LockMetrics metrics() {
        return metrics;
    }

    /**
     * Enqueues and waits for the lock. Completes with {@link LockOutcome.Acquired}; with {@link LockOutcome.TimedOut}
     * when {@code maxWait} passed first (the entry is gone from etcd by then); with {@link LockOutcome.Conflict} when
     * the request's guard did not hold (nothing enqueued); or exceptionally with {@link EtcdUnavailableException}
     * (etcd unreachable; the entry ended while waiting; or the wait ended but the entry could not be removed). A
     * {@code maxWait} of zero means one look: the lock is taken only if nothing blocks it at the enqueue.
     * {@code maxWait} bounds the wait for other holders, not etcd's answers (each bounded by the operation timeout):
     * when it passes before the first look at the queue, the attempt still takes that one look.
     */
    public CompletableFuture<LockOutcome> acquire(LockRequest request) {
        return LockAttempt.run(this, request);
    }

    /**
     * Ends an acquisition: revokes its lease, which deletes its entry in the same step, or deletes the entry of one
     * on a shared lease. Completes with {@code false} when the entry had already gone (the lock was lost before),
     * {@code true} otherwise.
     */
    public CompletableFuture<Boolean> release(Acquisition acquisition) {
        if (acquisition.loss() != null) {
            acquisition.loss().released(); // before the delete, which is not a loss
        }
        own.gone(acquisition.entryKey());
        if (!acquisition.ownsLease()) {
            return shared.release(acquisition);
        }
        if (acquisition.keepAlive() != null) {
            acquisition.keepAlive().close();
        }
        return Futures.bounded(leases.revoke(acquisition.leaseId()), opTimeout, "a lock release")
                .handle((response, error) -> {
                    if (error == null) {
                        return true;
                    }
                    if (Futures.isNotFound(error)) {
                        return false;
                    }
                    throw new CompletionException(Futures.unwrap(error));
                });
    }

    /**
     * The caller is about to delete the entry of {@code acquisition} in a transaction of its own (one that ends a
     * reservation with its counters): that delete is a release, not a loss.
     */
    public void releasing(Acquisition acquisition) {
        if (acquisition.loss() != null) {
            acquisition.loss().released();
        }
        if (acquisition.keepAlive() != null) {
            acquisition.keepAlive().close();
        }
    }

    /**
     * The caller's transaction deleted the entry of {@code acquisition}: local waiters may look again, and a lease
     * the acquisition had to itself is revoked in the background (it holds nothing any more).
     */
    public void deleted(Acquisition acquisition) {
        own.gone(acquisition.entryKey());
        if (acquisition.ownsLease()) {
            Futures.bounded(leases.revoke(acquisition.leaseId()), opTimeout, "a lease revoke").exceptionally(e -> null);
        }
    }

    /** Reads the queue of one lock: the entries in create-revision order with their stored values. */
    public CompletableFuture<List<Map.Entry<QueueEntry, ByteSequence>>> readQueue(String lockKey) {
        return queue.read(lockKey);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    Lease leases() {
        return leases;
    }

    Duration opTimeout() {
        return opTimeout;
    }

    ScheduledExecutorService timer() {
        return timer;
    }

    LockQueue queue() {
        return queue;
    }

    OwnEntries own() {
        return own;
    }

    BlockerWait blockers() {
        return blockers;
    }
}
