package io.woslo.quota;

import io.woslo.internal.Acquisition;
import java.util.Map;

/**
 * Amounts reserved under an account read lock that the caller now owns: what the fast and the slow path hand to a
 * {@link QuotaReservation} or a stored reservation.
 *
 * @param lock the reservation's read entry
 * @param reservedAtMillis when it was reserved (a rollback after close skips counters refreshed since)
 */
record Reserved(String account, Map<String, Long> amounts, Acquisition lock, long reservedAtMillis) {
}
