package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.GetOption;
import io.woslo.internal.Futures;
import io.woslo.internal.KeyHistory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * What etcd's history says about keys at a past revision: how a transaction whose answer was lost is told to have
 * landed or not. Used by the settlement of fast-path batches ({@link LateLandings}) and of reservation ends
 * ({@link EndGuard}).
 */
final class AtRevision {
    private AtRevision() {
    }

    /** {@code key} as it was at {@code revision} (keys only), or null when it did not exist then. */
    static CompletableFuture<KeyValue> read(KV kv, String key, long revision, Duration bound, String what) {
        return Futures.bounded(kv.get(bytes(key), GetOption.builder().withRevision(revision).withKeysOnly(true)
                        .build()), bound, what)
                .thenApply(got -> got.getKvs().isEmpty() ? null : got.getKvs().get(0));
    }

    /** Whether {@code key} existed at {@code revision}. */
    static CompletableFuture<Boolean> existed(KV kv, String key, long revision, Duration bound, String what) {
        return read(kv, key, revision, bound, what).thenApply(found -> found != null);
    }

    /** Which of {@code keys} (by name) were written at exactly {@code revision}. */
    static CompletableFuture<Set<String>> changed(KV kv, Map<String, String> keys, long revision, Duration bound) {
        List<String> names = new ArrayList<>(keys.keySet());
        List<CompletableFuture<Boolean>> reads = new ArrayList<>();
        for (String name : names) {
            reads.add(read(kv, keys.get(name), revision, bound, "a read of a counter at revision " + revision)
                    .thenApply(found -> found != null && found.getModRevision() == revision));
        }
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenApply(v -> {
            Set<String> changed = new HashSet<>();
            for (int i = 0; i < names.size(); i++) {
                if (reads.get(i).join()) {
                    changed.add(names.get(i));
                }
            }
            return changed;
        });
    }

    /** The revision of the first change of {@code key} after {@code revision}, from etcd's history. */
    static CompletableFuture<Long> firstChangeAfter(Watch watches, String key, long revision, Duration bound) {
        return KeyHistory.first(watches, bytes(key), revision,
                event -> Optional.of(event.getKeyValue().getModRevision()), bound,
                "a read of the history of " + key);
    }
}
