package io.woslo.internal;

import io.etcd.jetcd.support.CloseableClient;

/**
 * A granted lock entry: what {@link LockEngine#release} needs to end it, and what a fenced write compares
 * ({@link Fence#of}).
 *
 * @param lockKey the lock's name
 * @param entryKey the etcd key of the entry
 * @param policy whether it is a read or a write entry
 * @param leaseId the lease the entry lives on
 * @param revision the entry's create revision, the fencing token
 * @param keepAlive the lease's keep-alive stream in keep-alive mode, else null
 * @param ownsLease whether the lease is this acquisition's alone (released by revoking it) or shared with other
 *                  entries (released by deleting the entry; see {@link SharedLeaseEntries})
 * @param loss what is known about the hold's loss, for acquisitions made by {@link LockEngine#acquire}; null for
 *             entries written elsewhere
 */
public record Acquisition(String lockKey, String entryKey, LockPolicy policy, long leaseId, long revision,
                          CloseableClient keepAlive, boolean ownsLease, LossSignal loss) {

    /**
     * A read entry written by another component's transaction on a shared lease (a lease pool's): no keep-alive, no
     * loss signal, released by deleting the entry.
     */
    public static Acquisition sharedRead(String lockKey, String entryKey, long leaseId, long revision) {
        return new Acquisition(lockKey, entryKey, LockPolicy.READ, leaseId, revision, null, false, null);
    }

    /** This acquisition with its loss signal. */
    Acquisition withLoss(LossSignal signal) {
        return new Acquisition(lockKey, entryKey, policy, leaseId, revision, keepAlive, ownsLease, signal);
    }

    /** This entry after it was moved onto {@code newLeaseId}, a lease of its own (no keep-alive, no loss signal). */
    public Acquisition movedTo(long newLeaseId) {
        return new Acquisition(lockKey, entryKey, policy, newLeaseId, revision, null, true, null);
    }
}
