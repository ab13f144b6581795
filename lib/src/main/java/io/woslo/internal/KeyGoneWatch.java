package io.woslo.internal;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Waits for evidence that one incarnation of an etcd key is gone, and for nothing else.
 *
 * <p>Evidence is a DELETE event on the current watch, or a linearizable read, made once that watch is confirmed
 * by etcd, that finds no key or a key created at another revision. An error is never evidence: jetcd 0.8.7 calls
 * a watch listener's {@code onError} on every stream error, retryable ones included (a member restarted, a
 * connection reset), and then re-subscribes the same watcher by itself from an older revision. So on an error, or a
 * watch that ends without being closed here, the watcher is closed (which stops jetcd's re-subscription) and a new
 * one is opened at the current revision after a short pause, and once etcd confirms it the key is read again. A
 * failed read is retried after a pause as well. The pause starts at {@value #FIRST_PAUSE_MILLIS} ms and doubles up
 * to {@value #MAX_PAUSE_MILLIS} ms while failures go on.
 *
 * <p>Each watcher gets a generation; callbacks of a watcher that has been replaced (jetcd may still deliver them,
 * its {@code onNext} checks its closed flag without a lock) are ignored, as are the answers of reads started for it.
 *
 * <p>The watch runs until {@link #close()} or until the key is gone; {@link #gone()} only ever completes normally,
 * or exceptionally when the etcd client itself is closed. Locking: jetcd calls listeners while holding its watch
 * client's lock, so this class calls jetcd's watch and close only while holding no lock of its own.
 */
final class KeyGoneWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KeyGoneWatch.class);
    static final long FIRST_PAUSE_MILLIS = 100;
    static final long MAX_PAUSE_MILLIS = 1000;
    private static final WatchOption OPTION = WatchOption.builder().withCreateNotify(true).withNoPut(true).build();
    private static final GetOption READ = GetOption.builder().withKeysOnly(true).build();

    private final Watch watches;
    private final KV kv;
    private final ScheduledExecutorService timer;
    private final Duration opTimeout;
    private final ByteSequence key;
    private final String name;
    private final long createRevision;
    private final CompletableFuture<Void> gone = new CompletableFuture<>();

    // guarded by this
    private int generation;
    private Watch.Watcher watcher;
    private boolean closed;
    private long pauseMillis = FIRST_PAUSE_MILLIS;
    private ScheduledFuture<?> pending;

    /**
     * @param createRevision the create revision of the incarnation waited for, or 0 for whatever exists now
     * @param name how logs name the key
     */
    private KeyGoneWatch(Watch watches, KV kv, ScheduledExecutorService timer, Duration opTimeout, ByteSequence key,
                         long createRevision, String name) {
        this.watches = watches;
        this.kv = kv;
        this.timer = timer;
        this.opTimeout = opTimeout;
        this.key = key;
        this.createRevision = createRevision;
        this.name = name;
    }

    /** Starts waiting for {@code key} (the incarnation created at {@code createRevision}, or any if 0) to go. */
    static KeyGoneWatch start(Watch watches, KV kv, ScheduledExecutorService timer, Duration opTimeout,
                              ByteSequence key, long createRevision, String name) {
        KeyGoneWatch watch = new KeyGoneWatch(watches, kv, timer, opTimeout, key, createRevision, name);
        watch.open();
        return watch;
    }

    /** Completes (normally) once the key is known gone. */
    CompletableFuture<Void> gone() {
        return gone;
    }

    /** Stops watching. Safe to call more than once, from any thread. */
    @Override
    public void close() {
        Watch.Watcher current;
        ScheduledFuture<?> scheduled;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            generation++;
            current = watcher;
            watcher = null;
            scheduled = pending;
            pending = null;
        }
        if (scheduled != null) {
            scheduled.cancel(false);
        }
        if (current != null) {
            current.close();
        }
    }

    private void open() {
        int gen;
        synchronized (this) {
            if (closed) {
                return;
            }
            gen = ++generation;
            pending = null;
        }
        Watch.Watcher created;
        try {
            created = watches.watch(key, OPTION, Watch.listener(
                    response -> onResponse(gen, response),
                    error -> onError(gen, error),
                    () -> onEnded(gen)));
        } catch (RuntimeException clientClosed) {
            gone.completeExceptionally(new EtcdUnavailableException("cannot watch " + name + ": "
                    + clientClosed.getMessage(), clientClosed));
            close();
            return;
        }
        boolean keep;
        synchronized (this) {
            keep = !closed && generation == gen;
            if (keep) {
                watcher = created;
            }
        }
        if (!keep) { // closed, or already failed and replaced, while being created
            created.close();
        }
    }

    private synchronized boolean isCurrent(int gen) {
        return !closed && generation == gen;
    }

    private void onResponse(int gen, WatchResponse response) {
        if (!isCurrent(gen)) {
            return;
        }
        for (WatchEvent event : response.getEvents()) {
            if (event.getEventType() == WatchEvent.EventType.DELETE) {
                found("a delete event");
                return;
            }
        }
        if (response.isCreatedNotify()) {
            // etcd now reports every later delete to this watch: check the key did not go before it started.
            read(gen);
        }
    }

    private void read(int gen) {
        Futures.bounded(kv.get(key, READ), opTimeout, "a read of " + name).whenComplete((got, error) -> {
            if (!isCurrent(gen)) {
                return;
            }
            if (error != null) {
                LOG.debug("read of {} failed, retrying: {}", name, error.toString());
                schedule(gen, () -> read(gen));
            } else {
                synchronized (this) {
                    pauseMillis = FIRST_PAUSE_MILLIS; // the watch is confirmed and etcd answers
                }
                if (isGone(got)) {
                    found("a read");
                }
            }
        });
    }

    private boolean isGone(GetResponse got) {
        List<KeyValue> kvs = got.getKvs();
        return kvs.isEmpty() || createRevision != 0 && kvs.get(0).getCreateRevision() != createRevision;
    }

    private void onError(int gen, Throwable error) {
        LOG.debug("watch on {} failed, watching again: {}", name, error.toString());
        replace(gen);
    }

    private void onEnded(int gen) {
        // Our own close() makes jetcd call this too, but only after the generation moved on.
        LOG.debug("watch on {} ended, watching again", name);
        replace(gen);
    }

    /** Retires watcher {@code gen} and opens a new one after the pause. */
    private void replace(int gen) {
        Watch.Watcher failed;
        int next;
        synchronized (this) {
            if (closed || generation != gen) {
                return;
            }
            next = ++generation; // from here on, callbacks of the failed watcher are stale
            failed = watcher;
            watcher = null;
        }
        if (failed != null) {
            // Not from inside jetcd's callback: jetcd ends the failed stream itself after calling onError.
            execute(failed::close);
        }
        schedule(next, this::open);
    }

    private void schedule(int gen, Runnable task) {
        synchronized (this) {
            if (closed || generation != gen) {
                return;
            }
            long pause = pauseMillis;
            pauseMillis = Math.min(MAX_PAUSE_MILLIS, pauseMillis * 2);
            try {
                pending = timer.schedule(() -> {
                    if (isCurrent(gen)) {
                        task.run();
                    }
                }, pause, TimeUnit.MILLISECONDS);
                return;
            } catch (RejectedExecutionException engineClosed) {
                // fall through: the engine is closed, nothing more will be watched
            }
        }
        gone.completeExceptionally(new EtcdUnavailableException("stopped watching " + name
                + ": the lock engine is closed", null));
        close();
    }

    private void execute(Runnable task) {
        try {
            timer.execute(task);
        } catch (RejectedExecutionException engineClosed) {
            task.run();
        }
    }

    private void found(String evidence) {
        LOG.trace("{} is gone ({})", name, evidence);
        close();
        gone.complete(null);
    }
}
