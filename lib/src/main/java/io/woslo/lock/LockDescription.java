package io.woslo.lock;

import java.util.List;

/**
 * A lock's queue as one read of etcd saw it, from {@link RwLocks#describe(String)}: who holds it, and who waits in
 * queue order (create revision). A lock nobody holds has mode {@link LockMode#NONE} and two empty lists.
 *
 * @param key the lock's name
 * @param mode how it is held now
 * @param holders the entries that hold it (one writer, or the readers at the head of the queue)
 * @param waiters the entries queued behind the holders, oldest first
 */
public record LockDescription(String key, LockMode mode, List<LockEntry> holders, List<LockEntry> waiters) {
    public LockDescription {
        holders = List.copyOf(holders);
        waiters = List.copyOf(waiters);
    }
}
