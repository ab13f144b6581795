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
 * }                            // close() releases the read lock (the Go edition's Finally)
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

    /**
     * Ends the reservation keeping only {@code actual} of its amounts (each at most what was reserved; resources not
     * named go back entirely) and giving the rest back, in the same etcd transaction that releases the account's read
     * lock. For work that used less than it reserved. After it, {@link #close()} and {@link #rollback()} do nothing.
     * A reservation that changed nothing (quota off) just ends.
     *
     * @throws IllegalArgumentException when {@code actual} names a resource not reserved or more than was reserved;
     *                                  nothing changes then
     * @throws IllegalStateException when the reservation was already closed, committed or rolled back
     * @throws QuotaOutcomeUnknownException when etcd did not confirm it in time (do not commit again blindly)
     * @throws QuotaUnavailableException when it was not applied: the amounts are still reserved (the read lock may
     *                                   have been released to make sure the commit never lands late); commit again
     *                                   (it then gives back under a lock of its own) or roll back
     */
    void commit(Map<String, Long> actual);

    /** {@link #commit(Map)} without blocking; argument and state errors are thrown at once. */
    CompletableFuture<Void> commitAsync(Map<String, Long> actual);

    /**
     * Makes the reservation's read lock live at least {@code duration} from now (its lease is replaced by one of its
     * own), for work longer than the lock lease time. Never shortens it.
     *
     * @throws IllegalArgumentException for a duration that is not positive or longer than a day
     * @throws IllegalStateException when the reservation has ended
     * @throws QuotaUnavailableException when the lock is already lost, or etcd did not confirm in time (the lock
     *                                   keeps its old lease; try again)
     */
    void extend(java.time.Duration duration);

    /** {@link #extend(java.time.Duration)} without blocking. */
    CompletableFuture<Void> extendAsync(java.time.Duration duration);

    /** Releases the account's read lock. Once: a second call does nothing. */
    @Override
    void close();

    /** {@link #close()} without blocking. */
    CompletableFuture<Void> closeAsync();
}
