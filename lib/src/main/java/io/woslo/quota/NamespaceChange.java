package io.woslo.quota;

/**
 * Something changed under the namespace, from {@link QuotaAccounts#watch}: names decoded.
 *
 * @param kind {@code account} (an index entry), {@code quota} (a counter), {@code reservation} (a reservation made
 *        over HTTP) or {@code lock} (an entry of a lock's queue)
 * @param account the account it concerns, or null (a lock that is not an account's quota lock; a reservation whose
 *        record could not be read)
 * @param lock the lock key it concerns (an account's quota lock is {@code quota/<account>}), or null
 */
public record NamespaceChange(String kind, String account, String lock) {
}
