package io.woslo.quota;

import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Futures;
import io.woslo.internal.LockLostException;
import io.woslo.internal.OutcomeUnknownException;
import io.woslo.lock.LockUnavailableException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The one mapping of internal failures to the {@link QuotaException} family: what a caller of the quota API may see.
 * "Not applied" (retry is safe) is {@link QuotaUnavailableException}; "outcome unknown" (retry only with an
 * idempotency key) is {@link QuotaOutcomeUnknownException}; a lock not granted in time is {@link QuotaBusyException}.
 */
final class Failures {
    private Failures() {
    }

    /**
     * An internal failure as the caller sees it; failures already of the family (and argument errors) pass as they are.
     */
    static Throwable toQuotaException(Throwable error) {
        Throwable cause = Futures.unwrap(error);
        if (cause instanceof OutcomeUnknownException) {
            return new QuotaOutcomeUnknownException(cause.getMessage(), cause);
        }
        if (cause instanceof EtcdUnavailableException || cause instanceof LockUnavailableException
                || cause instanceof LockLostException) {
            return new QuotaUnavailableException(cause.getMessage(), cause);
        }
        return cause;
    }

    /** The account's lock was not granted within {@code wait}; nothing changed. */
    static QuotaBusyException busy(String account, boolean write, Duration wait, Throwable cause) {
        return new QuotaBusyException(account, "the " + (write ? "write" : "read") + " lock of account '" + account
                + "' was not acquired within " + wait + (write ? " (reservations of the account stay open)"
                : " (a refresh of the account holds or waits for the write lock)"), cause);
    }

    /**
     * Waits for a caller's future. An interrupt gives the call up (its future is cancelled, so a reservation that
     * lands later is given back) and is reported as "not applied", or as "outcome unknown" for a change that had
     * begun writing.
     */
    static <T> T join(CompletableFuture<T> future) {
        return Futures.join(future, cause -> {
            if (!(cause instanceof InterruptedException)) {
                return new QuotaException(String.valueOf(cause.getMessage()), cause);
            }
            return future instanceof Delivery.CallFuture<?> call && call.wroteBeforeCancel()
                    ? new QuotaOutcomeUnknownException("interrupted while a change was being written; it may still"
                            + " be applied", cause)
                    : new QuotaUnavailableException("interrupted while waiting for etcd; nothing was applied", cause);
        });
    }
}
