package io.woslo.lock;

import io.woslo.internal.LockPolicy;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@link DistributedLock} that {@link RwLocks} hands out: the holds taken through it, newest first. */
final class LockHandle implements DistributedLock {
    private static final Logger LOG = LoggerFactory.getLogger(LockHandle.class);

    private final LocalHolds holds;
    /** Where the caller's futures complete: never a thread the engine needs (jetcd's, the engine's timer). */
    private final Executor callbacks;
    private final LocalHolds.HoldKey holdKey;
    private final Duration leaseTime;
    private final LockPolicy policy;
    private final boolean keepAlive;
    private final Deque<LocalHolds.Hold> taken = new ArrayDeque<>();

    LockHandle(LocalHolds holds, Executor callbacks, String key, long ownerId, Duration leaseTime, LockPolicy policy,
               boolean keepAlive) {
        this.holds = holds;
        this.callbacks = callbacks;
        this.holdKey = new LocalHolds.HoldKey(key, ownerId);
        this.leaseTime = leaseTime;
        this.policy = policy;
        this.keepAlive = keepAlive;
    }

    @Override
    public String key() {
        return holdKey.lockKey();
    }

    @Override
    public long ownerId() {
        return holdKey.ownerId();
    }

    @Override
    public LockMode mode() {
        return policy.isWrite() ? LockMode.WRITE : LockMode.READ;
    }

    @Override
    public Duration leaseTime() {
        return leaseTime;
    }

    @Override
    public void lock() {
        RwLocks.join(lockAsync());
    }

    @Override
    public boolean tryLock(Duration wait) {
        return RwLocks.join(tryLockAsync(wait));
    }

    @Override
    public void unlock() {
        RwLocks.join(unlockAsync());
    }

    @Override
    public CompletableFuture<Void> lockAsync() {
        return take(leaseTime, acquired -> {
            if (!acquired) {
                throw new LockTimeoutException(key(), leaseTime);
            }
            return null;
        });
    }

    @Override
    public CompletableFuture<Boolean> tryLockAsync(Duration wait) {
        if (wait == null) {
            throw new IllegalArgumentException("wait must not be null");
        }
        if (wait.isNegative()) {
            throw new IllegalArgumentException("wait must not be negative, got " + wait);
        }
        return take(wait.compareTo(leaseTime) > 0 ? leaseTime : wait, acquired -> acquired);
    }

    /**
     * Takes a hold and completes the returned future with {@code outcome} of whether it was taken. The returned
     * future is the caller's: if the caller cancels it before the hold is granted (as a blocking {@code lock()} does
     * when its thread is interrupted), the hold is given back as soon as it is granted, so that nobody is left
     * holding a lock that no caller knows of.
     */
    private <T> CompletableFuture<T> take(Duration maxWait, Function<Boolean, T> outcome) {
        CompletableFuture<T> result = new CompletableFuture<>();
        holds.take(holdKey, policy, leaseTime, keepAlive, maxWait).whenCompleteAsync((taking, error) -> {
            if (error != null) {
                result.completeExceptionally(RwLocks.toLockException(error));
                return;
            }
            taking.ifPresent(hold -> {
                synchronized (taken) {
                    taken.push(hold);
                }
            });
            boolean delivered;
            try {
                delivered = result.complete(outcome.apply(taking.isPresent()));
            } catch (RuntimeException e) {
                delivered = result.completeExceptionally(e);
            }
            if (!delivered && taking.isPresent()) {
                LocalHolds.Hold hold = taking.get();
                LOG.info("the wait for '{}' by owner {} was abandoned before the lock was granted; releasing it",
                        key(), ownerId());
                synchronized (taken) {
                    taken.removeFirstOccurrence(hold);
                }
                holds.release(hold).exceptionally(e -> {
                    LOG.warn("could not release the abandoned hold of '{}' (it ends with its lease): {}", key(),
                            e.toString());
                    return null;
                });
            }
        }, callbacks);
        return result;
    }

    @Override
    public CompletableFuture<Void> unlockAsync() {
        LocalHolds.Hold hold;
        synchronized (taken) {
            hold = taken.poll();
        }
        if (hold == null) {
            LOG.warn("unlock of '{}' by owner {}: this handle does not hold the lock", key(), ownerId());
            return CompletableFuture.completedFuture(null);
        }
        return RwLocks.mapFailures(holds.release(hold)).whenCompleteAsync((v, e) -> { }, callbacks);
    }

    @Override
    public long fencingToken() {
        LocalHolds.Hold hold;
        synchronized (taken) {
            hold = taken.peek();
        }
        if (hold == null) {
            throw new IllegalStateException("lock '" + key() + "' is not held by this handle");
        }
        return hold.acquisition().revision();
    }

    @Override
    public boolean isHeld() {
        LocalHolds.Hold hold;
        synchronized (taken) {
            hold = taken.peek();
        }
        return hold != null && !hold.isLost();
    }

    @Override
    public CompletableFuture<Void> lost() {
        LocalHolds.Hold hold;
        synchronized (taken) {
            hold = taken.peek();
        }
        if (hold == null) {
            return CompletableFuture.failedFuture(
                    new IllegalStateException("lock '" + key() + "' is not held by this handle"));
        }
        return hold.lost();
    }

    @Override
    public void close() {
        while (true) {
            synchronized (taken) {
                if (taken.isEmpty()) {
                    return;
                }
            }
            unlock();
        }
    }

    @Override
    public String toString() {
        return mode() + " lock '" + key() + "' of owner " + ownerId();
    }
}
