package io.woslo.internal;

import java.time.Duration;

/**
 * What {@link LockEngine#acquire} is asked for. Made by {@link #of}, then {@link #withKeepAlive} and
 * {@link #guardedBy} where needed.
 *
 * @param lockKey the lock's name (unescaped)
 * @param policy read or write
 * @param ownerId stored in the entry's value, for people reading etcd
 * @param leaseTime the entry's lease time, counted again from the grant after a wait
 * @param keepAlive whether the lease is renewed for as long as the lock is held
 * @param maxWait how long to wait for other holders; zero means one look at the queue
 * @param guard compares and writes made in the enqueue's transaction
 */
public record LockRequest(String lockKey, LockPolicy policy, long ownerId, Duration leaseTime, boolean keepAlive,
                          Duration maxWait, EnqueueGuard guard) {

    public LockRequest {
        if (maxWait.isNegative()) {
            throw new IllegalArgumentException("maxWait must not be negative, got " + maxWait);
        }
    }

    /** A request without keep-alive and without a guard. */
    public static LockRequest of(String lockKey, LockPolicy policy, long ownerId, Duration leaseTime,
                                 Duration maxWait) {
        return new LockRequest(lockKey, policy, ownerId, leaseTime, false, maxWait, EnqueueGuard.NONE);
    }

    /** This request with the lease kept alive ({@code true}) or not. */
    public LockRequest withKeepAlive(boolean keepAlive) {
        return new LockRequest(lockKey, policy, ownerId, leaseTime, keepAlive, maxWait, guard);
    }

    /** This request with {@code guard}'s compares and writes in the enqueue. */
    public LockRequest guardedBy(EnqueueGuard guard) {
        return new LockRequest(lockKey, policy, ownerId, leaseTime, keepAlive, maxWait, guard);
    }

    /** The lease's TTL in whole seconds (etcd's unit), at least one. */
    long ttlSeconds() {
        return Math.max(1, (leaseTime.toMillis() + 999) / 1000);
    }
}
