package io.woslo.internal;

import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last step of an attempt that waited: restarts the entry's lease (it started counting at the enqueue) so the
 * holder gets its full lease time, and confirms the entry still exists. A lease that ended while waiting (an
 * election, a long stall, a revoke) took the entry with it, and an entry may have been removed by hand; granting
 * then would break mutual exclusion. Both calls go out together. A call that fails for another reason proves
 * nothing either way, so both are tried again after a pause, until they answer or the attempt ends.
 */
final class EntryConfirmation {
    // Logs as LockEngine, as before the engine was split, so that operators' log filters keep working.
    private static final Logger LOG = LoggerFactory.getLogger(LockEngine.class);
    private static final long FIRST_PAUSE_MILLIS = 100;
    private static final long MAX_PAUSE_MILLIS = 1000;

    private final LockEngine engine;
    private final String lockKey;
    private final String entryKey;
    private final long leaseId;
    private final long revision;
    private final CompletableFuture<?> attemptDone;
    private final CompletableFuture<Long> confirmed = new CompletableFuture<>();

    private EntryConfirmation(LockEngine engine, String lockKey, String entryKey, long leaseId, long revision,
                              CompletableFuture<?> attemptDone) {
        this.engine = engine;
        this.lockKey = lockKey;
        this.entryKey = entryKey;
        this.leaseId = leaseId;
        this.revision = revision;
        this.attemptDone = attemptDone;
    }

    /**
     * Confirms {@code entryKey} (created at {@code revision}, on {@code leaseId}). Completes with
     * {@link System#nanoTime()} from just before the lease was restarted; fails with
     * {@link EtcdUnavailableException} when the lease or the entry ended. Stops (never completing) once
     * {@code attemptDone} completes.
     */
    static CompletableFuture<Long> confirm(LockEngine engine, String lockKey, String entryKey, long leaseId,
                                           long revision, CompletableFuture<?> attemptDone) {
        EntryConfirmation confirmation = new EntryConfirmation(engine, lockKey, entryKey, leaseId, revision,
                attemptDone);
        confirmation.ask(FIRST_PAUSE_MILLIS);
        return confirmation.confirmed;
    }

    private void ask(long pauseMillis) {
        if (attemptDone.isDone()) {
            return;
        }
        long refreshStartNanos = System.nanoTime();
        CompletableFuture<LeaseKeepAliveResponse> refresh = Futures.bounded(engine.leases().keepAliveOnce(leaseId),
                engine.opTimeout(), "a lease refresh for lock '" + lockKey + "'");
        CompletableFuture<GetResponse> read = engine.queue().readEntry(lockKey, entryKey);
        CompletableFuture.allOf(refresh, read).whenComplete((ignored, anyError) -> {
            Throwable refreshError = errorOf(refresh);
            Throwable readError = errorOf(read);
            if (refreshError != null && Futures.isNotFound(refreshError)
                    || refreshError == null && refresh.join().getTTL() <= 0) {
                confirmed.completeExceptionally(
                        LockAttempt.entryEnded(lockKey, leaseId, "its lease ended (expired or revoked)"));
            } else if (readError == null && !isMine(read.join())) {
                confirmed.completeExceptionally(
                        LockAttempt.entryEnded(lockKey, leaseId, "its queue entry was removed"));
            } else if (refreshError != null || readError != null) {
                retry(refreshError != null ? refreshError : readError, pauseMillis);
            } else {
                confirmed.complete(refreshStartNanos);
            }
        });
    }

    private void retry(Throwable error, long pauseMillis) {
        LOG.debug("could not confirm the entry of lock '{}' after its wait, retrying: {}", lockKey, error.toString());
        try {
            engine.timer().schedule(() -> ask(Math.min(MAX_PAUSE_MILLIS, pauseMillis * 2)), pauseMillis,
                    TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException engineClosed) {
            confirmed.completeExceptionally(error);
        }
    }

    private boolean isMine(GetResponse read) {
        return !read.getKvs().isEmpty() && read.getKvs().get(0).getCreateRevision() == revision;
    }

    /** The failure of a completed call, or null when it succeeded. */
    private static Throwable errorOf(CompletableFuture<?> call) {
        if (!call.isCompletedExceptionally()) {
            return null;
        }
        try {
            call.join();
            return null;
        } catch (CompletionException | CancellationException e) {
            return Futures.unwrap(e);
        }
    }
}
