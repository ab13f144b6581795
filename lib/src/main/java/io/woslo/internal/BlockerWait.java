package io.woslo.internal;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.KV;
import io.etcd.jetcd.Watch;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Waiting for an entry ahead in a queue to be gone. Any entry is gone when etcd shows it so ({@link KeyGoneWatch}:
 * a delete event, or a read made after the watch was confirmed). An entry of this engine ({@link OwnEntries}) is
 * also known gone the moment its holder lets go or its attempt gives up, so the next local waiter need not wait for
 * etcd to tell.
 */
final class BlockerWait {
    /** How long a waiter behind an entry of this engine relies on its holder alone before also watching etcd. */
    private static final Duration LOCAL_WATCH_DELAY = Duration.ofSeconds(1);

    private final Watch watches;
    private final KV kv;
    private final ScheduledExecutorService timer;
    private final Duration opTimeout;
    private final OwnEntries own;

    BlockerWait(Watch watches, KV kv, ScheduledExecutorService timer, Duration opTimeout, OwnEntries own) {
        this.watches = watches;
        this.kv = kv;
        this.timer = timer;
        this.opTimeout = opTimeout;
        this.own = own;
    }

    /**
     * Completes when {@code blocker}, ahead of a waiter of lock {@code lockKey}, is gone; stops watching when
     * {@code waiterDone} completes first. Fails only when the engine or the etcd client is closed.
     */
    CompletableFuture<Void> gone(QueueEntry blocker, String lockKey, CompletableFuture<?> waiterDone) {
        CompletableFuture<Void> released = own.released(blocker.key());
        if (released == null) {
            return watch(blocker, lockKey, waiterDone).gone();
        }
        // Ours: its holder tells us when it lets go. Watching etcd as well costs a watch per waiter, which etcd
        // creates one at a time; it is only needed if the holder never lets go and the lease ends, so it starts late.
        CompletableFuture<Void> gone = new CompletableFuture<>();
        released.thenRun(() -> gone.complete(null));
        ScheduledFuture<?> fallback = timer.schedule(() -> {
            if (!gone.isDone() && !waiterDone.isDone()) {
                KeyGoneWatch watch = watch(blocker, lockKey, waiterDone);
                watch.gone().whenComplete((v, e) -> {
                    if (e == null) {
                        gone.complete(null);
                    } else {
                        gone.completeExceptionally(e);
                    }
                });
                gone.whenComplete((v, e) -> watch.close());
            }
        }, LOCAL_WATCH_DELAY.toMillis(), TimeUnit.MILLISECONDS);
        gone.whenComplete((v, e) -> fallback.cancel(false));
        return gone;
    }

    private KeyGoneWatch watch(QueueEntry blocker, String lockKey, CompletableFuture<?> waiterDone) {
        KeyGoneWatch watch = watchGone(blocker.key(), blocker.createRevision(),
                "the entry " + blocker.key() + " ahead of a waiter of lock '" + lockKey + "'");
        waiterDone.whenComplete((a, e) -> watch.close());
        return watch;
    }

    /** Watches for {@code entryKey} (created at {@code createRevision}) to be gone; see {@link KeyGoneWatch}. */
    KeyGoneWatch watchGone(String entryKey, long createRevision, String name) {
        return KeyGoneWatch.start(watches, kv, timer, opTimeout, bytes(entryKey), createRevision, name);
    }
}
