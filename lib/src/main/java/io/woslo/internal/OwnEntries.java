package io.woslo.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The registry of one engine's own queue entries: those its attempts created that are still in use, each with a
 * future completed when its holder lets go (or its attempt gives up, or etcd shows it gone). A waiter of the same
 * engine behind one of them proceeds then, without waiting for etcd to report the delete. That is safe because the
 * entry stays in etcd until the delete lands, so no other process can get ahead in the meantime.
 *
 * <p>The engine's entries carry a tag of their own in their names ({@link KeyLayout#newLockEntryKey}), so that one
 * of them missing from the registry is known to be gone without asking etcd.
 */
final class OwnEntries {
    private final ConcurrentHashMap<String, CompletableFuture<Void>> live = new ConcurrentHashMap<>();
    private final String tag = Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L) + ".";
    private final KeyLayout layout;

    OwnEntries(KeyLayout layout) {
        this.layout = layout;
    }

    /**
     * A new entry key of this engine, registered as live. Registered before it can reach etcd: another attempt of
     * this engine may see the entry in its queue read before this one hears back, and must then know it as live,
     * not as one of its own already gone.
     */
    String register(String lockKey, LockPolicy policy, long leaseId) {
        String entryKey = layout.newLockEntryKey(lockKey, policy, leaseId, tag);
        live.put(entryKey, new CompletableFuture<>());
        return entryKey;
    }

    /** Completes when the live entry {@code entryKey} of this engine is let go; null when it is not one. */
    CompletableFuture<Void> released(String entryKey) {
        return live.get(entryKey);
    }

    /** Whether {@code entryKey} is an entry of this engine that is no longer live. */
    boolean isGone(String entryKey) {
        return KeyLayout.isTaggedEntry(entryKey, tag) && !live.containsKey(entryKey);
    }

    /** {@code entryKey} is let go (released, given up, or shown gone by etcd); null is ignored. */
    void gone(String entryKey) {
        if (entryKey == null) {
            return;
        }
        CompletableFuture<Void> released = live.remove(entryKey);
        if (released != null) {
            released.complete(null);
        }
    }
}
