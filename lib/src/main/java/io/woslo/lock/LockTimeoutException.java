package io.woslo.lock;

import java.time.Duration;

/**
 * {@link DistributedLock#lock()} waited as long as it may (the lock's lease time) without getting the lock. The
 * caller's queue entry has been removed from etcd before this is thrown.
 */
public class LockTimeoutException extends LockException {
    private static final long serialVersionUID = 1L;

    private final String key;
    private final Duration waited;

    public LockTimeoutException(String key, Duration waited) {
        super("lock '" + key + "' not acquired within " + waited);
        this.key = key;
        this.waited = waited;
    }

    /** The lock's name. */
    public String key() {
        return key;
    }

    /** How long the caller waited. */
    public Duration waited() {
        return waited;
    }
}
