package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.Acquisition;
import io.woslo.internal.CounterStore;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Reservations kept in etcd by id ({@code <ns>/reservations/<id>}, {@link StoredRecord}), so that any process can end
 * them: the HTTP reservation API. This part makes, reads and lists them; {@link StoredEnds} ends them and
 * {@link StoredExtension} extends them.
 *
 * <p><b>Making one</b> is a fast-path reservation ({@link FastReservations}) whose transaction also writes the record,
 * on the lease of the account read-lock entry it creates (a pooled lease: no grant per reservation), and the
 * request's idempotency record when it has a key. On the slow path the record goes in the fenced counter update.
 * */
final class StoredReservations {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(StoredReservations.class);

    private final QuotaArithmetic arithmetic;
    private final Reserver reserver;
    private final KV kv;
    private final KeyLayout layout;
    private final Idempotency idempotency;
    private final Duration opTimeout;
    private final Duration leaseTime;

    StoredReservations(Client client, KeyLayout layout, Idempotency idempotency, QuotaArithmetic arithmetic,
                       Reserver reserver, Duration opTimeout, Duration leaseTime) {
        this.arithmetic = arithmetic;
        this.reserver = reserver;
        this.kv = client.getKVClient();
        this.layout = layout;
        this.idempotency = idempotency;
        this.opTimeout = opTimeout;
        this.leaseTime = leaseTime;
    }

    CompletableFuture<StoredReservation> create(String account, Map<String, Long> wanted, boolean noop,
                                                IdempotencyKey key) {
        if (noop) {
            return CompletableFuture.completedFuture(
                    new StoredReservation(ReservationIds.noopId(), account, Map.of(), 0, 0));
        }
        long now = arithmetic.nowMillis();
        StoredReservation made = new StoredReservation(ReservationIds.newId(account), account, wanted, now,
                now + leaseTime.toMillis());
        CompletableFuture<StoredReservation> work = idempotency.claim(key, made)
                .thenCompose(claim -> reserver.reserve(account, wanted, new Recorded(made, claim)))
                .thenApply(reserved -> made);
        return Idempotency.replayed(work, outcome -> Json.MAPPER.convertValue(outcome, StoredReservation.class));
    }

    /** The record (and idempotency record) a new stored reservation adds to its reservation's transaction. */
    private final class Recorded implements Attachment {
        private final StoredReservation made;
        private final Idempotency.Claim claim;
        private final ByteSequence key;

        Recorded(StoredReservation made, Idempotency.Claim claim) {
            this.made = made;
            this.claim = claim;
            this.key = StoredRecord.key(layout, made.id());
        }

        private ByteSequence value(String entry, long entryRevision) {
            return Json.write(new StoredRecord(made.account(), made.amounts(), made.reservedAtMillis(),
                    made.expiresAtMillis(), entry, entryRevision));
        }

        @Override
        public String entryName() {
            return KeyLayout.reservationEntryName(made.id());
        }

        @Override
        public int size() {
            return claim == null ? 1 : 2;
        }

        @Override
        public List<Cmp> compares() {
            return claim == null ? List.of() : List.of(claim.compare());
        }

        @Override
        public List<Op> writes(String entryKey, long leaseId) {
            Op record = Op.put(key, value(entryKey, 0), PutOption.builder().withLeaseId(leaseId).build());
            return claim == null ? List.of(record) : List.of(record, claim.write());
        }

        @Override
        public List<Op> reads() {
            return claim == null ? List.of() : List.of(claim.read());
        }

        @Override
        public RuntimeException failure(List<GetResponse> reads) {
            return claim == null ? null : claim.failure(reads.get(0).getKvs());
        }

        @Override
        public List<Op> undo() {
            return List.of(Op.delete(key, DeleteOption.DEFAULT));
        }

        @Override
        public boolean keptWhenLost() {
            return claim != null;
        }

        @Override
        public java.util.Set<ByteSequence> claimed() {
            return claim == null ? java.util.Set.of() : java.util.Set.of(claim.etcdKey());
        }

        @Override
        public List<CounterStore.Also> underLock(Acquisition lock) {
            CounterStore.Also record = new CounterStore.Also(
                    new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)),
                    Op.put(key, value(lock.entryKey(), lock.revision()),
                            PutOption.builder().withLeaseId(lock.leaseId()).build()),
                    Op.get(key, GetOption.builder().withKeysOnly(true).build()),
                    List::isEmpty,
                    seen -> new IllegalStateException("reservation id " + made.id() + " is taken"));
            return claim == null ? List.of(record) : List.of(record, claim.also());
        }
    }

    CompletableFuture<Optional<StoredReservation>> find(String id) {
        if (ReservationIds.looksNoop(id)) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        return Futures.bounded(kv.get(StoredRecord.key(layout, id)), opTimeout, "a read of reservation " + id)
                .thenApply(got -> got.getKvs().isEmpty()
                ? Optional.empty()
                : Optional.of(Json.read(got.getKvs().get(0).getValue(), StoredRecord.class).reservation(id)));
    }

    /**
     * The open reservations of {@code account}, oldest first: one bounded read of every record under
     * {@code <ns>/reservations/}, filtered here (there is no index by account). Only the record's public fields are
     * read, so records of any internal format are listed; one that cannot be read is skipped.
     */
    CompletableFuture<java.util.List<StoredReservation>> list(String account) {
        String prefix = layout.reservationsPrefix();
        return Futures.bounded(kv.get(bytes(prefix), io.etcd.jetcd.options.GetOption.builder().isPrefix(true).build()),
                opTimeout, "a read of the open reservations").thenApply(got -> {
                    java.util.List<StoredReservation> out = new java.util.ArrayList<>();
                    for (KeyValue record : got.getKvs()) {
                        String id = layout.reservationIdOf(Json.string(record.getKey()));
                        StoredRecord.Listed listed;
                        try {
                            listed = Json.read(record.getValue(), StoredRecord.Listed.class);
                        } catch (RuntimeException e) {
                            LOG.warn("skipping the unreadable record of reservation {}: {}", id,
                                    e.getMessage());
                            continue;
                        }
                        if (account.equals(listed.account())) {
                            out.add(new StoredReservation(id, listed.account(),
                                    listed.resources() == null ? Map.of() : listed.resources(), listed.reservedAt(),
                                    listed.expiresAt()));
                        }
                    }
                    out.sort(java.util.Comparator.comparingLong(StoredReservation::reservedAtMillis)
                            .thenComparing(StoredReservation::id));
                    return out;
                });
    }
}
