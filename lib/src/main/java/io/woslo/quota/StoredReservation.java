package io.woslo.quota;

import java.util.Map;

/**
 * A reservation kept in etcd at {@code <ns>/reservations/<id>} rather than in the caller's memory, so that any
 * process (any coordinator instance) can finish or roll it back by id. The record and the account's read lock live
 * on one lease: when the lease ends (after the lock lease time), the reservation ends too, and its amounts stay
 * counted until a refresh re-syncs the counters.
 *
 * @param id the reservation's id
 * @param account the account
 * @param amounts the non-zero amounts reserved
 * @param reservedAtMillis when it was made, epoch milliseconds
 * @param expiresAtMillis when its lease ends unless finished first, epoch milliseconds
 */
public record StoredReservation(String id, String account, Map<String, Long> amounts, long reservedAtMillis,
                                long expiresAtMillis) {
    public StoredReservation {
        amounts = Map.copyOf(amounts);
    }
}
