package io.woslo.internal;

import io.etcd.jetcd.Lease;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Shares one lease among the lock entries made within a short window, so that taking a lock costs no lease grant
 * of its own. Each lease is granted for the lock lease time plus the window and replaced once it is older than the
 * window: an entry made on it lives at least the lock lease time and at most one window longer, as if it had a
 * lease of its own.
 */
public final class LeasePool {
    /** How long one lease is handed out before a new one is granted. */
    public static final Duration WINDOW = Duration.ofSeconds(1);

    private final Lease leases;
    private final long ttlSeconds;
    private final Duration opTimeout;
    private CompletableFuture<Long> current;
    private long grantedAtNanos;

    public LeasePool(Lease leases, Duration leaseTime, Duration opTimeout) {
        this.leases = leases;
        this.ttlSeconds = (leaseTime.toMillis() + 999) / 1000 + WINDOW.toSeconds();
        this.opTimeout = opTimeout;
    }

    /** A lease with at least the lock lease time left. */
    public synchronized CompletableFuture<Long> lease() {
        long now = System.nanoTime();
        if (current == null || current.isCompletedExceptionally() || now - grantedAtNanos > WINDOW.toNanos()) {
            grantedAtNanos = now;
            current = Futures.bounded(leases.grant(ttlSeconds), opTimeout, "a lease grant").thenApply(r -> r.getID());
        }
        return current;
    }

    /** Forgets {@code leaseId}, e.g. after etcd said it does not know it; the next call grants a new one. */
    public synchronized void discard(long leaseId) {
        if (current != null && current.isDone() && !current.isCompletedExceptionally() && current.join() == leaseId) {
            current = null;
        }
    }
}
