package io.woslo.internal;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Reads what happened to one key after a revision, from etcd's history: a watch opened in the past replays the key's
 * events in order. Used to settle a write whose answer was lost once the key that would tell (a lock entry) is gone.
 * Fails when the history is compacted or etcd does not answer within the bound.
 */
public final class KeyHistory {
    private KeyHistory() {
    }

    /**
     * Replays the events of {@code key} after {@code afterRevision} and completes with the first decision
     * {@code decide} makes (a non-empty value); events it has no opinion on are passed over.
     */
    public static <T> CompletableFuture<T> first(Watch watches, ByteSequence key, long afterRevision,
                                                 Function<WatchEvent, Optional<T>> decide, Duration bound,
                                                 String what) {
        CompletableFuture<T> decided = new CompletableFuture<>();
        Watch.Watcher watcher = watches.watch(key, WatchOption.builder().withRevision(afterRevision + 1).build(),
                Watch.listener(response -> {
                    for (WatchEvent event : response.getEvents()) {
                        Optional<T> decision = decide.apply(event);
                        if (decision.isPresent()) {
                            decided.complete(decision.get());
                            return;
                        }
                    }
                }, decided::completeExceptionally));
        decided.whenCompleteAsync((v, e) -> watcher.close()); // never inside jetcd's own callback
        return Futures.bounded(decided, bound, what);
    }
}
