package io.woslo.internal;

import io.etcd.jetcd.support.CloseableClient;

/**
 * A granted lock entry: what {@link LockEngine#release} needs to end it.
 *
 * @param lockKey the lock's name
 * @param entryKey the etcd key of the entry
 * @param write whether it is the write lock
 * @param leaseId the lease the entry lives on
 * @param revision the entry's create revision, the fencing token
 * @param keepAlive the lease's keep-alive stream in keep-alive mode, else null
 * @param ownsLease whether the lease is this acquisition's alone (released by revoking it) or shared with other
 *                  entries (released by deleting the entry)
 * @param loss what is known about the hold's loss, for acquisitions made by {@link LockEngine#acquire}; null for
 *             entries written elsewhere (a lease pool's)
 */
public record Acquisition(String lockKey, String entryKey, boolean write, long leaseId, long revision,
                          CloseableClient keepAlive, boolean ownsLease, LossSignal loss) {

    /** An acquisition without a {@link LossSignal}: an entry written outside {@link LockEngine#acquire}. */
    public Acquisition(String lockKey, String entryKey, boolean write, long leaseId, long revision,
                       CloseableClient keepAlive, boolean ownsLease) {
        this(lockKey, entryKey, write, leaseId, revision, keepAlive, ownsLease, null);
    }
}
