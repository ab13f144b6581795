package io.woslo.internal;

import io.etcd.jetcd.Lease;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Shares one lease among the keys written within a window, so that a lock entry (or an idempotency record) costs no
 * lease grant of its own. Each lease is granted for the wanted lifetime plus the window and replaced once it is older
 * than the window: a key written on it lives at least the wanted lifetime and at most one window (plus the rounding
 * to whole seconds) longer, as if it had a lease of its own.
 */
public final class LeasePool {
    /** How long one lease of the lock entries' pool is handed out before a new one is granted. */
    private static final Duration WINDOW = Duration.ofSeconds(1);

    private final Lease leases;
    private final long ttlSeconds;
    private final Duration window;
    private final Duration opTimeout;
    private CompletableFuture<Long> current;
    private long grantedAtNanos;

    /** A pool of leases for lock entries: at least {@code leaseTime}, at most {@link #WINDOW} more. */
    public LeasePool(Lease leases, Duration leaseTime, Duration opTimeout) {
        this(leases, leaseTime, WINDOW, opTimeout);
    }

    /** A pool whose leases last at least {@code lifetime}, each handed out for {@code window}. */
    public LeasePool(Lease leases, Duration lifetime, Duration window, Duration opTimeout) {
        this.leases = leases;
        this.window = window;
        this.ttlSeconds = (lifetime.toMillis() + 999) / 1000 + (window.toMillis() + 999) / 1000;
        this.opTimeout = opTimeout;
    }

    /** A lease with at least the wanted lifetime left. */
    public synchronized CompletableFuture<Long> lease() {
        long now = System.nanoTime();
        if (current == null || current.isCompletedExceptionally() || now - grantedAtNanos > window.toNanos()) {
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
