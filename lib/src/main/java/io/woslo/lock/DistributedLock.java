package io.woslo.lock;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A read or write lock on one key, for one owner, held in etcd. Made by {@link RwLocks#readLock} and
 * {@link RwLocks#writeLock}; a handle is cheap and may be locked and unlocked many times.
 *
 * <pre>{@code
 * DistributedLock lock = locks.writeLock("invoice-42", workerId, Duration.ofSeconds(30));
 * lock.lock();                      // waits at most 30 s, then LockTimeoutException
 * try {
 *     store.write(invoice, lock.fencingToken());
 * } finally {
 *     lock.unlock();
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> Many readers or one writer, across every process using the same etcd and namespace. Waiters
 * are served in the order they asked (etcd create revision): a reader waits only for earlier writers, a writer for
 * every earlier holder or waiter, so later readers cannot starve a waiting writer.
 *
 * <p><b>Leases.</b> The lock lives on an etcd lease of the lock's lease time, counted from the moment it is
 * granted. Without keep-alive ({@link RwLocks.Builder#keepAlive(boolean)}) the lease is never renewed: a holder that
 * crashes, hangs or forgets to unlock loses the lock when the lease ends, and so does a holder whose work takes
 * longer than the lease. etcd raises lease times below its minimum TTL (about 2 s with default settings) to that
 * minimum, and works in whole seconds: a lease time is rounded up to the next second.
 *
 * <p><b>Waiting.</b> A waiter wakes on an etcd watch event, not by polling, and passes an earlier holder only on
 * evidence that the holder's key is gone: a delete event, or a linearizable read that shows it gone. A watch error
 * (an etcd member restarting, a connection reset), a failed read or a timeout is not such evidence: the waiter
 * watches again and keeps waiting until its wait ends.
 *
 * <p><b>Loss.</b> {@link #lost()} completes when the current hold is known lost, and {@link #isHeld()} agrees.
 *
 * <p><b>Fencing.</b> Because a paused holder can lose its lock without knowing, pass {@link #fencingToken()} to the
 * storage you protect and have it refuse a write whose token is lower than one it has already seen.
 *
 * <p><b>Re-entrancy.</b> Within one {@link RwLocks} instance, an owner id that holds a lock may take it again (a
 * count) and must unlock as often; a write holder may also take the read lock. An owner holding only the read lock
 * cannot upgrade to the write lock ({@link IllegalStateException}). Different {@code RwLocks} instances never share
 * holds, even with the same owner id.
 *
 * <p>Closing the handle releases every hold taken through it; closing twice is harmless.
 */
public interface DistributedLock extends AutoCloseable {

    /** The lock's name. */
    String key();

    /** The owner id given when the handle was made. */
    long ownerId();

    /** {@link LockMode#READ} or {@link LockMode#WRITE}. */
    LockMode mode();

    /** The lease time the lock is taken with. */
    Duration leaseTime();

    /**
     * Takes the lock, waiting at most the lease time.
     *
     * @throws LockTimeoutException when the lease time passed first; the caller's queue entry is gone from etcd
     * @throws LockUnavailableException when etcd could not be reached within the operation timeout, or the caller's
     *         queue entry ended while it waited (see {@link LockUnavailableException})
     * @throws LockException when the calling thread is interrupted while waiting (its interrupt flag stays set); the
     *         abandoned acquisition is given back as soon as it is granted, so it never holds the lock for nobody
     */
    void lock();

    /**
     * Takes the lock if it can within {@code wait} (capped at the lease time, since the queue entry lives on the
     * lease). {@link Duration#ZERO} takes it only if it is free now. Returns false otherwise, with the caller's
     * queue entry gone from etcd. {@code wait} bounds the wait for other holders; etcd's answers are bounded by the
     * operation timeout, so even a wait shorter than one round trip takes a free lock.
     *
     * @throws LockUnavailableException when etcd could not be reached within the operation timeout (also when the
     *         wait ended but the caller's entry could not be removed), or the caller's queue entry ended while it
     *         waited
     */
    boolean tryLock(Duration wait);

    /**
     * Releases one hold taken through this handle. When it returns, the caller's etcd key is gone (unless the count
     * of a re-entrant hold is still above zero). Releasing a lock this handle does not hold, or one whose lease has
     * ended, logs a warning and returns; it never removes another holder's key.
     *
     * @throws LockUnavailableException when etcd could not be reached (the key then ends with its lease)
     */
    void unlock();

    /**
     * The etcd revision at which this acquisition was queued, which it kept until granted. For one key it strictly
     * increases from one write hold to the next, so storage can refuse writes from an older holder.
     *
     * @throws IllegalStateException when the handle holds nothing
     */
    long fencingToken();

    /**
     * Whether this handle holds the lock, as far as this process knows. False when it holds nothing, and false
     * once the current hold is known lost: exactly when {@link #lost()} would be completed (a lease time that has
     * passed is checked at each call).
     */
    boolean isHeld();

    /**
     * A future for the loss of the current hold (the newest one taken through this handle). It completes when the
     * hold is known lost, which is when one of these is seen:
     * <ul>
     *   <li>without keep-alive, the lease time has passed, counted by this process's clock from just before the
     *       request that started the lease (or restarted it, after a wait), so never later than etcd ends it;</li>
     *   <li>with keep-alive, etcd answers a renewal that the lease is gone (revoked, or expired during a pause
     *       longer than the lease);</li>
     *   <li>the hold's entry is deleted in etcd: its lease revoked or expired, or the entry removed by someone
     *       else (an operator, {@code etcdctl del}).</li>
     * </ul>
     * It is cancelled by the {@link #unlock()} that releases the hold (the last count of a re-entrant hold); an
     * unlock of an earlier count leaves it pending. Once it has completed, {@link #isHeld()} is false; the lock must
     * be taken again, and the lost hold still be unlocked (a no-op in etcd, with a warning).
     *
     * <p>Watching costs nothing until the first call: that call starts a watch on the hold's own entry (and a
     * timer for the lease time without keep-alive). Each call returns a new future; completing or cancelling it
     * affects no one else. Completions run on the common pool, never on a thread the lock needs. Loss is learned
     * from etcd, so it may be seen late (a partition hides it until etcd answers again); fence writes with
     * {@link #fencingToken()} or with etcd compares rather than relying on this signal alone.
     *
     * <pre>{@code
     * lock.lock();
     * lock.lost().thenRun(work::abort);
     * try { work.run(); } finally { lock.unlock(); }   // the unlock cancels the future: no abort
     * }</pre>
     *
     * @return the future; when the handle holds nothing, a future already failed with
     *         {@link IllegalStateException}, as {@link #fencingToken()} throws
     */
    CompletableFuture<Void> lost();

    /** {@link #lock()} without blocking: completes when the lock is held. */
    CompletableFuture<Void> lockAsync();

    /** {@link #tryLock(Duration)} without blocking. */
    CompletableFuture<Boolean> tryLockAsync(Duration wait);

    /** {@link #unlock()} without blocking. */
    CompletableFuture<Void> unlockAsync();

    /** Releases every hold taken through this handle. */
    @Override
    void close();
}
