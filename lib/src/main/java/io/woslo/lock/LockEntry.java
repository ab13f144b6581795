package io.woslo.lock;

/**
 * One entry of a lock's queue as etcd holds it: a holder or a waiter, from {@link RwLocks#describe(String)}.
 *
 * @param entry the entry's name, the last segment of its key {@code <ns>/locks/<escaped key>/<entry>} (what
 *        {@link RwLocks#forceRelease(String, String)} takes)
 * @param mode {@link LockMode#READ} or {@link LockMode#WRITE} (an entry not written by WOSLO counts as a writer, as
 *        it does for the lock itself)
 * @param owner the owner id stored in the entry, or null when the entry carries none
 * @param revision the entry's create revision: its place in the queue
 * @param leaseId the etcd lease the entry lives on (0 for none)
 * @param leaseLeftSeconds the lease's time to live when read, -1 when the lease is gone (or there is none)
 */
public record LockEntry(String entry, LockMode mode, Long owner, long revision, long leaseId, long leaseLeftSeconds) {
}
