package io.woslo.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What this process knows about whether one granted acquisition still holds: held, lost, or released.
 *
 * <p>The hold is lost when its lease time has passed by this process's clock (without keep-alive; counted from
 * before the request that started or restarted the lease, so never later than etcd's own end), when the keep-alive
 * stream hears from etcd that the lease is gone (keep-alive mode), or, once someone {@linkplain #listen() listens},
 * when a watch on the entry reports it deleted (a revoke, an expiry, someone's hand). The watch and the timer are
 * started only by the first listener, so an acquisition nobody asks about costs nothing. A release ends the signal
 * first, so the holder's own delete is never taken for a loss.
 *
 * <p>Listeners get futures of their own: completed (on the common pool, never on a thread of the engine or of
 * jetcd) when the hold is lost, cancelled when it is released.
 */
public final class LossSignal {
    private static final Logger LOG = LoggerFactory.getLogger(LossSignal.class);

    private enum State { HELD, LOST, RELEASED }

    private final LockEngine engine;
    private final String lockKey;
    private final String entryKey;
    private final LockPolicy policy;
    private final long revision;
    private final long leaseId;
    private final long leaseStartNanos;
    private final Duration leaseTime;
    /** The keep-alive of a kept-alive lease, closed on loss; null without keep-alive. */
    private final AutoCloseable keepAlive;

    // guarded by this
    private State state = State.HELD;
    private final List<CompletableFuture<Void>> listeners = new ArrayList<>();
    private KeyGoneWatch entryWatch;
    private ScheduledFuture<?> leaseTimer;

    /**
     * The signal of {@code held}, whose lease (of {@code leaseTime}, unless kept alive) started or restarted at
     * {@code leaseStartNanos}.
     */
    LossSignal(LockEngine engine, Acquisition held, long leaseStartNanos, Duration leaseTime) {
        this.engine = engine;
        this.lockKey = held.lockKey();
        this.entryKey = held.entryKey();
        this.policy = held.policy();
        this.revision = held.revision();
        this.leaseId = held.leaseId();
        this.leaseStartNanos = leaseStartNanos;
        this.leaseTime = leaseTime;
        this.keepAlive = held.keepAlive();
    }

    /** Whether the hold is known lost. Without keep-alive, a lease time that has passed counts, checked now. */
    public boolean isLost() {
        State now;
        synchronized (this) {
            now = state;
        }
        if (now == State.HELD && leaseTimeLeftNanos() <= 0) {
            lost("its lease time of " + leaseTime + " has passed", false);
            return true;
        }
        return now == State.LOST;
    }

    /**
     * A new future that completes when the hold is known lost (at once if it already is) and is cancelled when it
     * is released (at once if it already was). The first call starts watching the entry, and without keep-alive a
     * timer for the end of the lease time.
     */
    public CompletableFuture<Void> listen() {
        CompletableFuture<Void> listener = new CompletableFuture<>();
        boolean arm;
        synchronized (this) {
            switch (state) {
                case LOST -> {
                    return CompletableFuture.completedFuture(null);
                }
                case RELEASED -> {
                    listener.cancel(false);
                    return listener;
                }
                default -> {
                    listeners.add(listener);
                    arm = entryWatch == null;
                }
            }
        }
        if (arm) {
            arm();
        }
        isLost(); // the lease time may already have passed
        return listener;
    }

    private void arm() {
        KeyGoneWatch watch = engine.blockers().watchGone(entryKey, revision,
                "the entry of held lock '" + lockKey + "'");
        ScheduledFuture<?> timer = null;
        if (keepAlive == null) {
            try {
                timer = engine.timer().schedule(this::isLost, Math.max(0, leaseTimeLeftNanos()),
                        TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException engineClosed) {
                LOG.debug("lock engine closed; the end of the lease of '{}' is noticed when asked", lockKey);
            }
        }
        boolean keep;
        synchronized (this) {
            keep = state == State.HELD && entryWatch == null;
            if (keep) {
                entryWatch = watch;
                leaseTimer = timer;
            }
        }
        if (!keep) {
            watch.close();
            if (timer != null) {
                timer.cancel(false);
            }
            return;
        }
        watch.gone().whenComplete((v, error) -> {
            if (error == null) {
                lost("its entry " + entryKey + " was deleted (lease revoked or expired, or removed by hand)", true);
            }
        });
    }

    private long leaseTimeLeftNanos() {
        if (keepAlive != null) {
            return Long.MAX_VALUE;
        }
        return leaseTime.toNanos() - (System.nanoTime() - leaseStartNanos);
    }

    /**
     * The hold is lost. {@code entryGone}: etcd showed the entry gone (not merely its lease time passed), so a
     * waiter of this engine queued behind it may pass it.
     */
    void lost(String why, boolean entryGone) {
        List<CompletableFuture<Void>> toComplete;
        synchronized (this) {
            if (state != State.HELD) {
                return;
            }
            state = State.LOST;
            toComplete = List.copyOf(listeners);
            listeners.clear();
        }
        LOG.warn("lock '{}' (lease {}) is lost: {}", lockKey, Long.toHexString(leaseId), why);
        engine.metrics().lost(policy);
        stopWatching();
        if (keepAlive != null) {
            try {
                keepAlive.close(); // no point renewing a lease that no longer holds the lock
            } catch (Exception e) {
                LOG.debug("closing the keep-alive of lost lock '{}': {}", lockKey, e.toString());
            }
        }
        if (entryGone) {
            engine.own().gone(entryKey);
        }
        toComplete.forEach(listener -> listener.completeAsync(() -> null));
    }

    /** The holder lets go: listeners are cancelled, the watch and the timer stop. */
    void released() {
        List<CompletableFuture<Void>> toCancel;
        synchronized (this) {
            if (state != State.HELD) {
                return;
            }
            state = State.RELEASED;
            toCancel = List.copyOf(listeners);
            listeners.clear();
        }
        stopWatching();
        toCancel.forEach(listener -> listener.cancel(false));
    }

    private void stopWatching() {
        KeyGoneWatch watch;
        ScheduledFuture<?> timer;
        synchronized (this) {
            watch = entryWatch;
            timer = leaseTimer;
            leaseTimer = null;
        }
        if (watch != null) {
            watch.close();
        }
        if (timer != null) {
            timer.cancel(false);
        }
    }
}
