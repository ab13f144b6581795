package io.woslo.lock;

import java.util.List;

/**
 * A snapshot of one lock as etcd holds it, from {@link RwLocks#inspect(String)}.
 *
 * @param key the lock's name
 * @param mode how it is held now
 * @param holders the owner ids of the holders (one for a writer, one per acquisition for readers)
 * @param waiting the number of acquisitions queued behind the holders
 */
public record LockInfo(String key, LockMode mode, List<Long> holders, int waiting) {
    public LockInfo {
        holders = List.copyOf(holders);
    }
}
