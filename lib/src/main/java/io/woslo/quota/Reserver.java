package io.woslo.quota;

import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A reservation's path: the fast path ({@link FastReservations}) first; the slow path ({@link SlowReserver}) when
 * the fast path hands the request over. An attachment (may be null) is written in the reservation's transaction
 * either way.
 */
final class Reserver {
    private final FastReservations fast;
    private final SlowReserver slow;

    Reserver(FastReservations fast, SlowReserver slow) {
        this.fast = fast;
        this.slow = slow;
    }

    CompletableFuture<Reserved> reserve(String account, Map<String, Long> wanted, Attachment attachment) {
        return fast.reserve(account, wanted, attachment).thenCompose(r -> r != null
                ? CompletableFuture.completedFuture(r)
                : slow.reserve(account, wanted, attachment));
    }

    /** How many reservations the fast path handed to the slow path. */
    long handedToSlowPath() {
        return fast.handedToSlowPath();
    }

    /** How many fast-path batches committed on a counter state they planned for speculatively. */
    long speculativeHits() {
        return fast.speculativeHits();
    }
}
