package io.woslo.quota;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Watch;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LeasePool;
import io.woslo.internal.TxnCombiner;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The fast path of a reservation: the account's read-lock entry and the counter update in ONE transaction, and
 * concurrent reservations of one account in this process coalesced into that transaction. Why a read entry written
 * this way holds the account's read lock is {@link AccountLock}'s handshake.
 *
 * <p><b>Coalescing.</b> Each account has a {@link Lane}. While one transaction for an account is in flight, further
 * reservations of that account queue in its lane; the next transaction carries up to {@link Lane#MAX_BATCH} of
 * them, each with its own lock entry and its own outcome: requests are planned in arrival order, each
 * all-or-nothing ({@link QuotaArithmetic#planBatch}), and one that does not fit is refused with the figures it saw.
 * Entries live on a shared lease from a {@link LeasePool}, so no lease grant is made per reservation; closing one
 * deletes its entry (grouped with other deletes in flight).
 *
 * <p><b>The parts of a lane.</b> {@link Lane} queues, batches and keeps the view of the counters; {@link BatchTxn}
 * sends one batch as a plain transaction; {@link Speculation} sends a batch of a contended account planned on
 * several counter states at once; {@link LateLandings} withdraws or undoes a transaction whose answer was lost.
 * When a writer is queued, or a counter is missing or stale, requests go to the slow path ({@link SlowReserver}),
 * which waits for the writer as the lock requires.
 */
final class FastReservations {

    /** What the lanes share: etcd, the account lock, the lease pool, the group commit and the other parts. */
    record Parts(KV kv, Watch watches, KeyLayout layout, AccountLock locks, LeasePool leases, TxnCombiner combiner,
                 Duration opTimeout, QuotaArithmetic arithmetic, Handlers handlers, Releases releases,
                 LongAdder conflicts, LongAdder handedOver, LongAdder speculativeHits) {
    }

    private final Parts parts;
    private final ConcurrentHashMap<String, Lane> lanes = new ConcurrentHashMap<>();
    /** Requests this path handed to the slow path: tests see whether an account stays off the fast path. */
    private final LongAdder handedOver = new LongAdder();
    /** Speculative batches that committed on a level above 0: tests see that speculation happens. */
    private final LongAdder speculativeHits = new LongAdder();

    /** @param conflicts counts the rounds lost to another process's change of the counters */
    FastReservations(Client client, KeyLayout layout, AccountLock locks, TxnCombiner combiner, Duration opTimeout,
                     Duration leaseTime, QuotaArithmetic arithmetic, Handlers handlers, Releases releases,
                     LongAdder conflicts) {
        this.parts = new Parts(client.getKVClient(), client.getWatchClient(), layout, locks,
                new LeasePool(client.getLeaseClient(), leaseTime, opTimeout), combiner, opTimeout, arithmetic,
                handlers, releases, conflicts, handedOver, speculativeHits);
    }

    /**
     * Reserves on the fast path, with {@code attachment} (may be null) written in the same transaction. Completes
     * with the reservation, with {@code null} when the slow path must take the request, or exceptionally
     * ({@link QuotaExceededException}, {@link io.woslo.internal.EtcdUnavailableException}).
     */
    CompletableFuture<Reserved> reserve(String account, Map<String, Long> wanted, Attachment attachment) {
        BatchRequest request = new BatchRequest(wanted, new CompletableFuture<>(), attachment);
        lanes.computeIfAbsent(account, a -> new Lane(a, parts)).submit(request);
        return request.result();
    }

    /** How many batches committed on a counter state other than the one seen (a speculative level above 0). */
    long speculativeHits() {
        return speculativeHits.sum();
    }

    /** How many requests went to the slow path since this was built. */
    long handedToSlowPath() {
        return handedOver.sum();
    }
}
