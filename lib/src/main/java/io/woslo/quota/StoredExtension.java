package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.CounterStore;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Fence;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The extension of a reservation kept by id: its record and its lock entry moved together to a lease granted for
 * it, so both live at least as long as asked; never shortened. Safe to repeat.
 */
final class StoredExtension {
    private final KV kv;
    private final Lease leases;
    private final KeyLayout layout;
    private final CounterStore counters;
    private final QuotaArithmetic arithmetic;
    private final Duration opTimeout;

    StoredExtension(Client client, KeyLayout layout, CounterStore counters, QuotaArithmetic arithmetic,
                    Duration opTimeout) {
        this.kv = client.getKVClient();
        this.leases = client.getLeaseClient();
        this.layout = layout;
        this.counters = counters;
        this.arithmetic = arithmetic;
        this.opTimeout = opTimeout;
    }

    /**
     * Makes the reservation (its record and its lock entry) live at least {@code by} from now, on a lease granted for
     * it; never shortens it. Empty when it is unknown or ended.
     */
    CompletableFuture<Optional<StoredReservation>> extend(String id, Duration by) {
        if (ReservationIds.looksNoop(id)) {
            long now = arithmetic.nowMillis();
            return CompletableFuture.completedFuture(ReservationIds.isNoopId(id)
                    ? Optional.of(new StoredReservation(id, "", Map.of(), 0, now + by.toMillis()))
                    : Optional.empty());
        }
        return extendOnce(id, by, System.nanoTime() + opTimeout.toNanos());
    }

    private CompletableFuture<Optional<StoredReservation>> extendOnce(String id, Duration by, long deadline) {
        ByteSequence key = StoredRecord.key(layout, id);
        return Futures.bounded(kv.get(key), opTimeout, "a read of reservation " + id).thenCompose(got -> {
            if (got.getKvs().isEmpty()) {
                return CompletableFuture.completedFuture(Optional.<StoredReservation>empty());
            }
            KeyValue record = got.getKvs().get(0);
            StoredRecord stored = Json.read(record.getValue(), StoredRecord.class);
            long target = arithmetic.nowMillis() + by.toMillis();
            if (stored.expiresAt() >= target) {
                return CompletableFuture.completedFuture(Optional.of(stored.reservation(id)));
            }
            StoredRecord longer = new StoredRecord(stored.account(), stored.resources(), stored.reservedAt(), target,
                    stored.entry(), stored.entryRevision(record));
            long ttl = (by.toMillis() + 999) / 1000;
            return Futures.bounded(leases.grant(ttl), opTimeout, "a lease grant for reservation " + id)
                    .thenCompose(grant -> move(id, record, stored, longer, grant.getID(), by, deadline));
        });
    }

    /**
     * Moves the record and the entry to {@code lease} in one transaction compared on the record's mod revision and
     * the entry ({@link LeaseMove}); a lost answer is settled on the record.
     */
    private CompletableFuture<Optional<StoredReservation>> move(String id, KeyValue record, StoredRecord stored,
                                                                StoredRecord longer, long lease, Duration by,
                                                                long deadline) {
        ByteSequence key = StoredRecord.key(layout, id);
        PutOption onLease = PutOption.builder().withLeaseId(lease).build();
        Fence fence = new Fence(stored.entry(), stored.entryRevision(record), record.getLease(), false);
        return LeaseMove.move(kv, counters.writeTimeout(),
                        List.of(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(record.getModRevision())),
                                fence.compare()),
                        List.of(Op.put(bytes(stored.entry()), AccountLock.readEntryValue(by), onLease),
                                Op.put(key, Json.write(longer), onLease)),
                        List.of(Op.get(key, GetOption.builder().withKeysOnly(true).build()), fence.read()),
                        record, "the extension of reservation " + id)
                .thenCompose(outcome -> {
                    if (outcome.lost()) {
                        return CompletableFuture.completedFuture(settled(id, outcome, longer, lease));
                    }
                    if (outcome.moved()) {
                        return CompletableFuture.completedFuture(Optional.of(longer.reservation(id)));
                    }
                    revoke(lease);
                    return notMoved(id, record, outcome.answer().getGetResponses().get(0).getKvs(), by, deadline);
                });
    }

    /** After a move whose compare failed: empty when the reservation ended, a retry when it changed meanwhile. */
    private CompletableFuture<Optional<StoredReservation>> notMoved(String id, KeyValue record, List<KeyValue> now,
                                                                    Duration by, long deadline) {
        if (now.isEmpty() || now.get(0).getCreateRevision() != record.getCreateRevision()) {
            return CompletableFuture.completedFuture(Optional.<StoredReservation>empty());
        }
        if (now.get(0).getModRevision() == record.getModRevision()) { // the record held: the entry did not
            return CompletableFuture.failedFuture(new EtcdUnavailableException("the lock entry of"
                    + " reservation " + id + " is gone (removed by hand?); it cannot be extended", null));
        }
        if (System.nanoTime() > deadline) {
            return CompletableFuture.failedFuture(new EtcdUnavailableException("reservation " + id
                    + " kept changing while it was being extended", null));
        }
        return extendOnce(id, by, deadline); // changed meanwhile (extended, settled): again
    }

    /**
     * An extension whose answer was lost, settled on the record ({@link LeaseMove}): withdrawn, it was not applied;
     * otherwise it landed if the record now lasts as long as asked (another extension may have made it so).
     */
    private Optional<StoredReservation> settled(String id, LeaseMove.Outcome outcome, StoredRecord longer,
                                                long lease) {
        KeyValue now = outcome.withdrawn() ? null : outcome.now();
        if (now == null || now.getLease() != lease) {
            revoke(lease); // the move never landed and never will: nothing lives on the new lease
        }
        if (now == null || Json.read(now.getValue(), StoredRecord.class).expiresAt() < longer.expiresAt()) {
            throw new EtcdUnavailableException("etcd did not answer the extension of reservation " + id
                    + " in time; it was not applied", null);
        }
        return Optional.of(longer.reservation(id)); // it landed, or another extension made it live at least as long
    }

    private void revoke(long lease) {
        Futures.bounded(leases.revoke(lease), opTimeout, "a lease revoke").exceptionally(e -> null);
    }
}
