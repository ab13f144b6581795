package io.woslo.quota;

import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Amounts reserved for one account by {@link QuotaManager#prepareOccupying}, with the account's read lock held so
 * that no refresh overwrites the counters while the caller's work is in flight.
 *
 * <pre>{@code
 * try (Reservation r = quota.prepareOccupying("account1", Map.of("CPUA", 1L, "CPUB", 2L))) {
 *     try {
 *         createVm();
 *     } catch (Exception e) {
 *         r.rollback();        // gives back exactly what this reservation took
 *         throw e;
 *     }
 * }                            // close() releases the read lock (the seed's Finally)
 * }</pre>
 *
 * A reservation that is never closed loses its lock when the lock's lease ends; its amounts stay counted until a
 * refresh re-syncs the counters from the handlers.
 */
public interface Reservation extends AutoCloseable {
    /** The account. */
    String account();

    /** The non-zero amounts reserved, by resource. Empty for a reservation that changed nothing. */
    Map<String, Long> amounts();

    /**
     * Gives back exactly the amounts this reservation took. Once: a second call does nothing. Counters refreshed
     * since the reservation are left alone (the refresh already saw the truth).
     */
    void rollback();

    /** {@link #rollback()} without blocking. */
    CompletableFuture<Void> rollbackAsync();

    /** Releases the account's read lock. Once: a second call does nothing. */
    @Override
    void close();

    /** {@link #close()} without blocking. */
    CompletableFuture<Void> closeAsync();
}
