package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.Acquisition;
import io.woslo.internal.CounterStore;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Fence;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LockLostException;
import io.woslo.internal.TxnCombiner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reservations kept in etcd by id ({@code <ns>/reservations/<id>}), so that any process can end them: the HTTP
 * reservation API.
 *
 * <p><b>Making one</b> is a fast-path reservation ({@link FastReservations}) whose transaction also writes the record,
 * on the lease of the account read-lock entry it creates (a pooled lease: no grant per reservation), and the
 * request's idempotency record when it has a key. On the slow path the record goes in the fenced counter update.
 *
 * <p><b>Ending one</b> (finish, commit of part, rollback) is ONE transaction ({@link EndGuard}): it compares the
 * record's mod revision and, when counters change, the lock entry that fences them; it gives back what is not kept,
 * deletes the record and the entry, and writes the idempotency record. Of two processes ending one reservation,
 * exactly one commits; the other finds the record gone. An extension moves the record and the entry to a new lease.
 */
final class StoredReservations {
    private static final String NOOP_PREFIX = "noop-";
    private static final int UUID_LENGTH = 36;
    /** The longest one extension may ask for. */
    static final Duration MAX_EXTENSION = Duration.ofDays(1);

    private final AccountLock locks;
    private final QuotaArithmetic arithmetic;
    private final Reserver reserver;
    private final io.etcd.jetcd.Client client;
    private final KV kv;
    private final Lease leases;
    private final KeyLayout layout;
    private final CounterStore counters;
    private final Idempotency idempotency;
    /** Group commit of the reads and transactions that end reservations. */
    private final TxnCombiner ends;
    private final Duration opTimeout;
    private final Duration leaseTime;

    StoredReservations(io.etcd.jetcd.Client client, KeyLayout layout, CounterStore counters, Idempotency idempotency,
                       AccountLock locks, QuotaArithmetic arithmetic, Reserver reserver, Duration opTimeout,
                       Duration leaseTime) {
        this.locks = locks;
        this.arithmetic = arithmetic;
        this.reserver = reserver;
        this.client = client;
        this.kv = client.getKVClient();
        this.leases = client.getLeaseClient();
        this.layout = layout;
        this.counters = counters;
        this.idempotency = idempotency;
        this.ends = new TxnCombiner(kv, counters.writeTimeout());
        this.opTimeout = opTimeout;
        this.leaseTime = leaseTime;
    }

    /**
     * The stored form: {@code {"account","resources","reservedAt","expiresAt","entry","entryRevision"}}; the last two
     * name the read-lock entry the reservation holds, which fences the counters it gives back. An
     * {@code entryRevision} of 0 means the record's own create revision (record and entry written together).
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Stored(String account, Map<String, Long> resources, long reservedAt, long expiresAt, String entry,
                  long entryRevision) {
        long entryRevision(KeyValue record) {
            return entryRevision != 0 ? entryRevision : record.getCreateRevision();
        }

        StoredReservation reservation(String id) {
            return new StoredReservation(id, account, resources, reservedAt, expiresAt);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Making one

    CompletableFuture<StoredReservation> create(String account, Map<String, Long> wanted, boolean noop,
                                                IdempotencyKey key) {
        if (noop) {
            return CompletableFuture.completedFuture(new StoredReservation(noopId(), account, Map.of(), 0, 0));
        }
        long now = arithmetic.nowMillis();
        StoredReservation made = new StoredReservation(newId(account), account, wanted, now,
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
            this.key = key(made.id());
        }

        private ByteSequence value(String entry, long entryRevision) {
            return Json.write(new Stored(made.account(), made.amounts(), made.reservedAtMillis(),
                    made.expiresAtMillis(), entry, entryRevision));
        }

        @Override
        public String entryName() {
            return StoredReservations.entryName(made.id());
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

    // ---------------------------------------------------------------------------------------------------------
    // Reading one

    CompletableFuture<Optional<StoredReservation>> find(String id) {
        if (id.startsWith(NOOP_PREFIX)) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        return Futures.bounded(kv.get(key(id)), opTimeout, "a read of reservation " + id).thenApply(got -> got
                .getKvs().isEmpty()
                ? Optional.empty()
                : Optional.of(Json.read(got.getKvs().get(0).getValue(), Stored.class).reservation(id)));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Ending one

    /**
     * Ends a reservation, keeping {@code keep} of its amounts (null: all of them; empty: none, a rollback) and giving
     * the rest back, in one transaction. False when it is unknown or already ended.
     *
     * @throws IllegalArgumentException (as the future's failure) when {@code keep} names a resource the reservation
     *                                  does not hold, or more than it holds; nothing changes then
     */
    CompletableFuture<Boolean> end(String id, Map<String, Long> keep, IdempotencyKey key, Call call) {
        if (id.startsWith(NOOP_PREFIX)) {
            if (keep != null) {
                Requirements.kept(id, Map.of(), keep);
            }
            return CompletableFuture.completedFuture(isNoopId(id));
        }
        long deadline = System.nanoTime() + opTimeout.toNanos();
        String account = accountOf(id);
        CompletableFuture<Boolean> ended = keep == null && account != null
                ? finishAtOnce(id, account, key, call, deadline)
                : endOnce(id, keep, key, call, deadline);
        return Idempotency.replayed(ended, outcome -> true);
    }

    /**
     * Ends a reservation keeping everything with no read first: its id names its account, and a reservation made on
     * the fast path has its lock entry named after its id, so the ending transaction can be written blind. It
     * compares the record never rewritten (version 1: no extension, no settlement) and that entry present; when
     * either does not hold (extended, made on the slow path), the end reads the record and goes the usual way.
     */
    private CompletableFuture<Boolean> finishAtOnce(String id, String account, IdempotencyKey key, Call call,
                                                    long deadline) {
        ByteSequence record = key(id);
        ByteSequence entry = bytes(locks.namedEntryKey(account, entryName(id)));
        return idempotency.claim(key, Map.of("ended", true)).thenCompose(claim -> {
            if (!call.beginWrite()) {
                return CompletableFuture.failedFuture(Call.abandonedBeforeWriting("the end of reservation " + id));
            }
            List<Cmp> compares = new ArrayList<>(List.of(
                    new Cmp(record, Cmp.Op.EQUAL, CmpTarget.version(1)),
                    new Cmp(entry, Cmp.Op.GREATER, CmpTarget.createRevision(0))));
            List<Op> writes = new ArrayList<>(List.of(Op.delete(record, DeleteOption.DEFAULT),
                    Op.delete(entry, DeleteOption.DEFAULT)));
            List<Op> reads = new ArrayList<>(List.of(Op.get(record, GetOption.builder().withKeysOnly(true).build())));
            if (claim != null) {
                compares.add(claim.compare());
                writes.add(claim.write());
                reads.add(claim.read());
            }
            TxnCombiner.Submission txn = ends.submit(new TxnCombiner.Part(compares, writes, reads,
                    claim == null ? java.util.Set.of() : java.util.Set.of(claim.etcdKey())));
            return txn.outcome().handle((outcome, error) -> {
                if (error != null) {
                    return Futures.unwrap(error) instanceof EtcdUnavailableException
                            ? settleFinishAtOnce(id, claim)
                            : CompletableFuture.<Boolean>failedFuture(Futures.unwrap(error));
                }
                if (outcome.succeeded()) {
                    return CompletableFuture.completedFuture(true);
                }
                if (claim != null) {
                    RuntimeException taken = claim.failure(outcome.gets().get(1).getKvs());
                    if (taken != null) {
                        return CompletableFuture.<Boolean>failedFuture(taken);
                    }
                }
                List<KeyValue> now = outcome.gets().get(0).getKvs();
                if (now.isEmpty()) {
                    return CompletableFuture.completedFuture(false); // unknown or ended
                }
                return endOnce(id, null, key, call, deadline); // extended, settled, slow path, or another part failed
            }).thenCompose(next -> next);
        });
    }

    /**
     * A blind finish whose answer was lost. A record still there is settled as any end is ({@link EndGuard#settle}:
     * rewritten unchanged, so the lost transaction, which compared its version, can never land: not applied). A
     * record gone was ended, by this call or another one, and etcd cannot say which: outcome unknown, unless the
     * idempotency record says this request was applied.
     */
    private CompletableFuture<Boolean> settleFinishAtOnce(String id, Idempotency.Claim claim) {
        List<Op> reads = new ArrayList<>(List.of(Op.get(key(id), GetOption.DEFAULT)));
        if (claim != null) {
            reads.add(claim.read());
        }
        String what = "the end of reservation " + id;
        return Futures.bounded(kv.txn().Then(reads.toArray(Op[]::new)).commit(), counters.writeTimeout(),
                        "the settlement of " + what)
                .thenCompose(read -> {
                    if (claim != null && claim.applied(read.getGetResponses().get(1).getKvs())) {
                        return CompletableFuture.completedFuture(true);
                    }
                    List<KeyValue> found = read.getGetResponses().get(0).getKvs();
                    if (found.isEmpty()) {
                        return CompletableFuture.<Boolean>failedFuture(new io.woslo.internal.OutcomeUnknownException(
                                "etcd did not answer " + what + " in time, and it has ended: by this call or another",
                                null));
                    }
                    KeyValue record = found.get(0);
                    Stored stored = Json.read(record.getValue(), Stored.class);
                    EndGuard guard = new EndGuard(client, layout, counters.writeTimeout(), stored.account(),
                            stored.resources().keySet(), record, null, stored.entry(), stored.entryRevision(record),
                            claim);
                    return counters.resolve(new CounterStore.LostWrite(guard, "blind", what)).thenApply(v -> true);
                });
    }

    private CompletableFuture<Boolean> endOnce(String id, Map<String, Long> keep, IdempotencyKey key, Call call,
                                               long deadline) {
        List<Op> reads = new ArrayList<>(2);
        reads.add(Op.get(key(id), GetOption.DEFAULT));
        if (key != null) {
            reads.add(idempotency.read(key));
        }
        // Reads of ends arriving together share one transaction (in both branches: another part may fail it).
        return ends.submit(new TxnCombiner.Part(List.of(), reads, reads)).outcome()
                .thenCompose(read -> {
                    Idempotency.Done done = key == null ? null : Idempotency.done(key, read.gets().get(1).getKvs());
                    if (done != null) {
                        return CompletableFuture.failedFuture(done);
                    }
                    List<KeyValue> found = read.gets().get(0).getKvs();
                    if (found.isEmpty()) {
                        return CompletableFuture.completedFuture(false);
                    }
                    KeyValue record = found.get(0);
                    Stored stored = Json.read(record.getValue(), Stored.class);
                    Map<String, Long> giveBack = keep == null
                            ? Map.of()
                            : Requirements.givenBack(id, stored.resources(), keep);
                    return idempotency.claim(key, Map.of("ended", true))
                            .thenCompose(claim -> call.beginWrite()
                                    ? write(record, stored, giveBack, claim).thenApply(written -> true)
                                    : CompletableFuture.<Boolean>failedFuture(Call.abandonedBeforeWriting(
                                            "the end of reservation " + id)))
                            .exceptionallyCompose(error -> Futures.unwrap(error) instanceof QuotaAbnormalException
                                    // planned on counters read after the record: if another process ended it
                                    // meanwhile, that is the answer (false, or the outcome under our key)
                                    ? stillAsRead(record).thenCompose(open -> open
                                            ? CompletableFuture.failedFuture(error)
                                            : endOnce(id, keep, key, call, deadline))
                                    : CompletableFuture.failedFuture(error));
                })
                .exceptionallyCompose(error -> {
                    Throwable cause = Futures.unwrap(error);
                    if (cause instanceof EndGuard.EndedElsewhere) {
                        return CompletableFuture.completedFuture(false);
                    }
                    if (cause instanceof EndGuard.RecordChanged && System.nanoTime() < deadline) {
                        return endOnce(id, keep, key, call, deadline); // extended meanwhile: read it again
                    }
                    return CompletableFuture.failedFuture(cause);
                });
    }

    /** Whether {@code record} is still in etcd as it was read. */
    private CompletableFuture<Boolean> stillAsRead(KeyValue record) {
        return Futures.bounded(kv.get(record.getKey(), GetOption.builder().withKeysOnly(true).build()), opTimeout,
                        "a read of a reservation's record")
                .thenApply(got -> !got.getKvs().isEmpty()
                        && got.getKvs().get(0).getModRevision() == record.getModRevision());
    }

    /**
     * The ending transaction: fenced by the reservation's entry, or, if that is gone, by a read lock of its own. One
     * that gives nothing back compares no counter, so concurrent ones share a transaction.
     */
    private CompletableFuture<?> write(KeyValue record, Stored stored, Map<String, Long> giveBack,
                                       Idempotency.Claim claim) {
        long entryRevision = stored.entryRevision(record);
        if (giveBack.isEmpty()) {
            return keepAll(new EndGuard(client, layout, counters.writeTimeout(), stored.account(),
                    stored.resources().keySet(), record, null, stored.entry(), entryRevision, claim), claim);
        }
        Fence own = new Fence(stored.entry(), entryRevision, record.getLease(), false);
        return lowerUnder(record, stored, giveBack, claim, own, entryRevision).exceptionallyCompose(error ->
                Futures.unwrap(error) instanceof LockLostException // the entry was removed by hand: lock anew
                        ? locks.withReadLock(stored.account(), lock ->
                                lowerUnder(record, stored, giveBack, claim, Fence.of(lock), entryRevision))
                        : CompletableFuture.failedFuture(error));
    }

    /**
     * Ends a reservation keeping everything: the guard's transaction alone, group-committed with other ends. A part
     * whose own compares held in a transaction another part failed goes again; an answer that was lost is settled
     * by the guard.
     */
    private CompletableFuture<Void> keepAll(EndGuard guard, Idempotency.Claim claim) {
        String writeId = Long.toHexString(ThreadLocalRandom.current().nextLong());
        String what = "the end of a reservation of account '" + guard.account() + "'";
        TxnCombiner.Submission txn = ends.submit(new TxnCombiner.Part(guard.compares(),
                guard.writes(writeId, java.util.Set.of()), guard.reads(),
                claim == null ? java.util.Set.of() : java.util.Set.of(claim.etcdKey())));
        return txn.outcome().handle((outcome, error) -> {
            if (error != null) {
                return Futures.unwrap(error) instanceof EtcdUnavailableException
                        ? counters.resolve(new CounterStore.LostWrite(guard, writeId, what))
                        : CompletableFuture.<Void>failedFuture(Futures.unwrap(error));
            }
            if (outcome.succeeded()) {
                return CompletableFuture.<Void>completedFuture(null);
            }
            RuntimeException refused = guard.failure(outcome.gets(), what);
            return refused != null ? CompletableFuture.<Void>failedFuture(refused) : keepAll(guard, claim);
        }).thenCompose(next -> next);
    }

    private CompletableFuture<Map<String, io.woslo.internal.Counter>> lowerUnder(KeyValue record, Stored stored,
                                                                              Map<String, Long> giveBack,
                                                                              Idempotency.Claim claim, Fence fence,
                                                                              long entryRevision) {
        EndGuard guard = new EndGuard(client, layout, counters.writeTimeout(), stored.account(),
                stored.resources().keySet(), record, fence, stored.entry(), entryRevision, claim);
        return counters.update(stored.account(), giveBack.keySet(), null, guard,
                seen -> arithmetic.lowerPlan(stored.account(), giveBack, seen));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Extending one

    /**
     * Makes the reservation (its record and its lock entry) live at least {@code by} from now, on a lease granted for
     * it; never shortens it. Empty when it is unknown or ended.
     */
    CompletableFuture<Optional<StoredReservation>> extend(String id, Duration by) {
        if (id.startsWith(NOOP_PREFIX)) {
            long now = arithmetic.nowMillis();
            return CompletableFuture.completedFuture(isNoopId(id)
                    ? Optional.of(new StoredReservation(id, "", Map.of(), 0, now + by.toMillis()))
                    : Optional.empty());
        }
        return extendOnce(id, by, System.nanoTime() + opTimeout.toNanos());
    }

    private CompletableFuture<Optional<StoredReservation>> extendOnce(String id, Duration by, long deadline) {
        ByteSequence key = key(id);
        return Futures.bounded(kv.get(key), opTimeout, "a read of reservation " + id).thenCompose(got -> {
            if (got.getKvs().isEmpty()) {
                return CompletableFuture.completedFuture(Optional.<StoredReservation>empty());
            }
            KeyValue record = got.getKvs().get(0);
            Stored stored = Json.read(record.getValue(), Stored.class);
            long target = arithmetic.nowMillis() + by.toMillis();
            if (stored.expiresAt() >= target) {
                return CompletableFuture.completedFuture(Optional.of(stored.reservation(id)));
            }
            Stored longer = new Stored(stored.account(), stored.resources(), stored.reservedAt(), target,
                    stored.entry(), stored.entryRevision(record));
            long ttl = (by.toMillis() + 999) / 1000;
            return Futures.bounded(leases.grant(ttl), opTimeout, "a lease grant for reservation " + id)
                    .thenCompose(grant -> move(id, record, stored, longer, grant.getID(), by, deadline));
        });
    }

    private CompletableFuture<Optional<StoredReservation>> move(String id, KeyValue record, Stored stored,
                                                                Stored longer, long lease, Duration by, long deadline) {
        ByteSequence key = key(id);
        ByteSequence entry = bytes(stored.entry());
        PutOption onLease = PutOption.builder().withLeaseId(lease).build();
        Fence fence = new Fence(stored.entry(), stored.entryRevision(record), record.getLease(), false);
        CompletableFuture<TxnResponse> txn = kv.txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(record.getModRevision())), fence.compare())
                .Then(Op.put(entry, AccountLock.readEntryValue(by), onLease),
                        Op.put(key, Json.write(longer), onLease))
                .Else(Op.get(key, GetOption.builder().withKeysOnly(true).build()), fence.read())
                .commit();
        return Futures.bounded(txn, counters.writeTimeout(), "the extension of reservation " + id)
                .exceptionallyCompose(error -> Futures.unwrap(error) instanceof EtcdUnavailableException
                        ? settleExtension(id, record, longer, lease).thenApply(landed -> (TxnResponse) null)
                        : CompletableFuture.failedFuture(error))
                .thenCompose(response -> {
                    if (response == null || response.isSucceeded()) {
                        return CompletableFuture.completedFuture(Optional.of(longer.reservation(id)));
                    }
                    revoke(lease);
                    List<KeyValue> now = response.getGetResponses().get(0).getKvs();
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
                });
    }

    /**
     * An extension whose answer was lost: if the record is as it compared, it is rewritten unchanged so the lost
     * transaction can never land (not applied); otherwise it landed if the record now lasts as long as asked.
     */
    private CompletableFuture<Void> settleExtension(String id, KeyValue record, Stored longer, long lease) {
        ByteSequence key = key(id);
        CompletableFuture<TxnResponse> txn = kv.txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(record.getModRevision())))
                .Then(Op.put(key, record.getValue(), PutOption.builder().withLeaseId(record.getLease()).build()))
                .Else(Op.get(key, GetOption.DEFAULT))
                .commit();
        return Futures.bounded(txn, counters.writeTimeout(), "the settlement of the extension of reservation " + id)
                .thenApply(response -> {
                    List<KeyValue> now = response.isSucceeded() ? List.of() : response.getGetResponses().get(0).getKvs();
                    if (now.isEmpty() || now.get(0).getLease() != lease) {
                        revoke(lease); // the move never landed and never will: nothing lives on the new lease
                    }
                    if (now.isEmpty() || Json.read(now.get(0).getValue(), Stored.class).expiresAt() < longer.expiresAt()) {
                        throw new EtcdUnavailableException("etcd did not answer the extension of reservation " + id
                                + " in time; it was not applied", null);
                    }
                    return null; // it landed, or another extension made it live at least as long
                });
    }

    // ---------------------------------------------------------------------------------------------------------
    // Ids and keys

    /**
     * A new reservation's id: a random UUID, then {@code .} and the account in unpadded base64url, so that an end
     * needs no read to find the account's lock (ids stay within {@link KeyLayout#MAX_NAME_LENGTH}; for a longer
     * account, the UUID alone). Opaque to clients: only URL-safe characters.
     */
    static String newId(String account) {
        String uuid = UUID.randomUUID().toString();
        String id = uuid + "." + java.util.Base64.getUrlEncoder().withoutPadding()
                .encodeToString(account.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return id.length() <= KeyLayout.MAX_NAME_LENGTH ? id : uuid;
    }

    /** The account an id made by {@link #newId} names, or null when it names none. */
    static String accountOf(String id) {
        int dot = id.indexOf('.');
        if (dot != UUID_LENGTH || dot == id.length() - 1) {
            return null;
        }
        try {
            return new String(java.util.Base64.getUrlDecoder().decode(id.substring(dot + 1)),
                    java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException notBase64) {
            return null;
        }
    }

    /** The name of a stored reservation's lock entry made on the fast path: {@code r-<uuid of its id>}. */
    static String entryName(String id) {
        return "r-" + id.substring(0, Math.min(UUID_LENGTH, id.length()));
    }

    /**
     * An id for a reservation that changed nothing (quota off, nothing asked): nothing is stored for it, so the id
     * carries a check of its own, and only ids this code issued end "successfully".
     */
    static String noopId() {
        String uuid = UUID.randomUUID().toString();
        return NOOP_PREFIX + uuid + "-" + noopCheck(uuid);
    }

    static boolean isNoopId(String id) {
        String rest = id.substring(NOOP_PREFIX.length());
        int dash = rest.lastIndexOf('-');
        return dash > 0 && rest.substring(dash + 1).equals(noopCheck(rest.substring(0, dash)));
    }

    private static String noopCheck(String uuid) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(("woslo-noop:" + uuid).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return String.format("%08x", crc.getValue());
    }

    private void revoke(long lease) {
        Futures.bounded(leases.revoke(lease), opTimeout, "a lease revoke").exceptionally(e -> null);
    }

    private ByteSequence key(String id) {
        return bytes(layout.reservationKey(id));
    }

    static String requireId(String id) {
        return KeyLayout.requireName("reservation id", id);
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
                        Listed listed;
                        try {
                            listed = Json.read(record.getValue(), Listed.class);
                        } catch (RuntimeException e) {
                            LISTING_LOG.warn("skipping the unreadable record of reservation {}: {}", id,
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

    /** The public fields of a stored record, whatever else it holds. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Listed(String account, Map<String, Long> resources, long reservedAt, long expiresAt) {
    }

    private static final org.slf4j.Logger LISTING_LOG = org.slf4j.LoggerFactory.getLogger(StoredReservations.class);
}
