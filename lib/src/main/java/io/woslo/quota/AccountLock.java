package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.Acquisition;
import io.woslo.internal.CounterStore;
import io.woslo.internal.EnqueueGuard;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LockEngine;
import io.woslo.internal.LockEntryValue;
import io.woslo.internal.LockOutcome;
import io.woslo.internal.LockPolicy;
import io.woslo.internal.LockRequest;
import io.woslo.lock.LockMode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The account lock: a read-write lock per account ({@code <ns>/locks/quota%2F<account>/}) on the manager's one
 * {@link LockEngine}. Reservations hold it for reading, refreshes for writing. Every call into the lock engine made
 * for quota is here.
 *
 * <p><b>The handshake, and why it is safe.</b> A reservation on the fast path does not queue through the engine: it
 * writes its read entry in the same transaction as its counters. Taking a read lock means no writer queued before
 * the reader, and two halves make that so:
 * <ul>
 *   <li><i>The writer</i> ({@link #lock} for writing) rewrites the account's index key {@code <ns>/accounts/<account>}
 *       (keeping its value) in the very transaction that queues its entry, compared on that key's mod revision and
 *       retried while the key moves under it.</li>
 *   <li><i>The reader</i> (the fast path) reads the counters, the writers' count ({@link #writersCount}) and the index
 *       key's mod revision ({@link #accountRead}) in one snapshot, plans only when the count is zero, and its
 *       transaction compares that mod revision ({@link #noWriterQueuedSince}) with the counters'.</li>
 * </ul>
 * If the reader's transaction commits, the index key did not change since its snapshot, so no writer queued since;
 * and none was queued at the snapshot. Its entry is therefore queued with no writer before it, exactly as the engine
 * would have granted it. Comparing one key per account, rather than the counters a writer saw, also covers a counter
 * created after the writer read the account. A reader whose answer was lost is withdrawn by rewriting the index key
 * as a writer does ({@link #keepIndex}): no later write can make that compare hold again.
 *
 * <p>Every counter write under this lock is fenced by the holder's entry ({@link io.woslo.internal.Fence}), so a
 * holder whose lease ended writes nothing.
 */
final class AccountLock {
    private static final Logger LOG = LoggerFactory.getLogger(AccountLock.class);

    private final LockEngine engine;
    private final KeyLayout layout;
    private final CounterStore counters;
    private final Duration leaseTime;
    private final Duration operationTimeout;

    AccountLock(LockEngine engine, KeyLayout layout, CounterStore counters, Duration leaseTime,
                Duration operationTimeout) {
        this.engine = engine;
        this.layout = layout;
        this.counters = counters;
        this.leaseTime = leaseTime;
        this.operationTimeout = operationTimeout;
    }

    /** The name of the lock that guards an account's counters: {@code quota/<account>}. */
    static String lockKey(String account) {
        return KeyLayout.accountLockKey(account);
    }

    /** How long a call waits for the account's lock: half the operation timeout, leaving the rest for its work. */
    Duration lockWait() {
        return operationTimeout.dividedBy(2);
    }

    // --- Taking and releasing through the engine ------------------------------------------------------------

    /**
     * Takes the account's read or write lock, waiting at most {@code wait}; fails with {@link QuotaBusyException}
     * when it is not granted in time (the entry is gone from etcd by then).
     */
    CompletableFuture<Acquisition> lock(String account, boolean write, Duration wait) {
        CompletableFuture<LockOutcome> outcome = write
                ? writeLock(account, wait, System.nanoTime() + wait.toNanos())
                : engine.acquire(LockRequest.of(lockKey(account), LockPolicy.READ, newOwnerId(), leaseTime, wait));
        return outcome.thenApply(result -> {
            if (result instanceof LockOutcome.Acquired acquired) {
                return acquired.acquisition();
            }
            throw Failures.busy(account, write, wait, null);
        });
    }

    /**
     * The writer's half: queues for the write lock while rewriting the account's index key in the same transaction.
     * The rewrite keeps the key's value (a new account gets {@code refreshedAt} 0 until its refresh completes); it is
     * compared, so it never erases a newer value, and retried while the key changes under it, until
     * {@code deadline}; then the account is busy.
     */
    private CompletableFuture<LockOutcome> writeLock(String account, Duration wait, long deadline) {
        return counters.readAccountIndex(account).thenCompose(index -> {
            ByteSequence key = bytes(layout.accountKey(account));
            Cmp unchanged = index == null
                    ? new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
                    : new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(index.getModRevision()));
            Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
            LockRequest request = LockRequest.of(lockKey(account), LockPolicy.WRITE, newOwnerId(), leaseTime, left)
                    .guardedBy(new EnqueueGuard(List.of(unchanged), List.of(keepIndex(account, index))));
            // a conflict (the index key moved: another writer queued) is retried while time is left; after the
            // deadline it is "not acquired", and lock() answers busy
            return engine.acquire(request).thenCompose(outcome ->
                    outcome instanceof LockOutcome.Conflict && System.nanoTime() < deadline
                            ? writeLock(account, wait, deadline)
                            : CompletableFuture.completedFuture(outcome));
        });
    }

    /** Releases an account lock; the returned future completes when its key is gone (or failed to go). Never fails. */
    CompletableFuture<Void> unlock(Acquisition lock) {
        return engine.release(lock).handle((wasHeld, error) -> {
            if (error != null) {
                LOG.warn("could not release lock '{}' (it ends with its lease): {}", lock.lockKey(),
                        Futures.unwrap(error).getMessage());
            } else if (!wasHeld) {
                LOG.warn("lock '{}' had ended with its lease before its release", lock.lockKey());
            }
            return null;
        });
    }

    /** Runs {@code work} under the account's read lock, released when it is done either way. */
    <T> CompletableFuture<T> withReadLock(String account, Function<Acquisition, CompletableFuture<T>> work) {
        return lock(account, false, lockWait()).thenCompose(lock -> work.apply(lock)
                .handle((result, error) -> unlock(lock).thenCompose(v -> error == null
                        ? CompletableFuture.completedFuture(result)
                        : CompletableFuture.<T>failedFuture(error)))
                .thenCompose(Function.identity()));
    }

    /** The caller's transaction is about to delete {@code lock}'s entry itself (an end): not a loss. */
    void releasing(Acquisition lock) {
        engine.releasing(lock);
    }

    /** The caller's transaction deleted {@code lock}'s entry. */
    void deleted(Acquisition lock) {
        engine.deleted(lock);
    }

    /** How the account's lock is held now: none, read or write (its first entry's mode). */
    CompletableFuture<LockMode> mode(String account) {
        return engine.readQueue(lockKey(account)).thenApply(queue -> queue.isEmpty()
                ? LockMode.NONE
                : queue.get(0).getKey().write() ? LockMode.WRITE : LockMode.READ);
    }

    void close() {
        engine.close();
    }

    // --- The reader's half: entries written by the fast path's own transactions -----------------------------

    /** Reads how many writers are queued for the account's lock (a count-only range over their entries). */
    Op writersCount(String account) {
        return Op.get(bytes(layout.lockWritersPrefix(lockKey(account))),
                GetOption.builder().isPrefix(true).withCountOnly(true).build());
    }

    /** Reads the account's index key (keys only): its mod revision moves whenever a writer queues. */
    Op accountRead(String account) {
        return Op.get(bytes(layout.accountKey(account)), GetOption.builder().withKeysOnly(true).build());
    }

    /** Holds only while no writer queued since the index key was seen at {@code accountRevision} (0: absent). */
    Cmp noWriterQueuedSince(String account, long accountRevision) {
        return new Cmp(bytes(layout.accountKey(account)), Cmp.Op.EQUAL, CmpTarget.modRevision(accountRevision));
    }

    /** The rewrite of the account's index key as it is ({@code index} null: absent), as a queuing writer makes it. */
    Op keepIndex(String account, KeyValue index) {
        return Op.put(bytes(layout.accountKey(account)),
                index == null ? Json.write(Map.of("refreshedAt", 0L)) : index.getValue(), PutOption.DEFAULT);
    }

    /** A new read entry's key for the account's lock on {@code leaseId}. */
    String newReadEntryKey(String account, long leaseId) {
        return layout.newLockEntryKey(lockKey(account), LockPolicy.READ, leaseId);
    }

    /** The key of the account's read entry named {@code name} (a stored reservation's, named after its id). */
    String namedEntryKey(String account, String name) {
        return layout.lockEntryKey(lockKey(account), name);
    }

    /** The key of the read entry the stored reservation {@code id} of {@code account} would hold. */
    String reservationEntryKey(String account, String id) {
        return layout.reservationEntryKey(lockKey(account), id);
    }

    /** The value of a read entry for people reading etcd: a random owner and {@code leaseTime}. */
    static ByteSequence readEntryValue(Duration leaseTime) {
        return LockEntryValue.of(LockPolicy.READ, ThreadLocalRandom.current().nextLong(), leaseTime);
    }

    /** The value of a read entry on the lock's lease time. */
    ByteSequence readEntryValue() {
        return readEntryValue(leaseTime);
    }

    /** A read entry the fast path wrote (on a shared lease, created at {@code revision}) as an acquisition. */
    Acquisition readEntry(String account, String entryKey, long leaseId, long revision) {
        return Acquisition.sharedRead(lockKey(account), entryKey, leaseId, revision);
    }

    /** A read entry written by the fast path was granted: counted as a read acquisition. */
    void grantedOnFastPath() {
        engine.metrics().acquired(LockPolicy.READ);
    }

    /** Deletes a read entry the fast path wrote. */
    CompletableFuture<Boolean> releaseEntry(Acquisition entry) {
        return engine.release(entry);
    }

    /** {@code lock} after its entry moved to a lease of its own, {@code lease}. */
    static Acquisition onOwnLease(Acquisition lock, long lease) {
        return lock.movedTo(lease);
    }

    private static long newOwnerId() {
        return ThreadLocalRandom.current().nextLong();
    }
}
