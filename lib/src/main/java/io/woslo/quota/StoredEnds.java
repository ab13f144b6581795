package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.woslo.internal.Counter;
import io.woslo.internal.CounterStore;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Fence;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LockLostException;
import io.woslo.internal.OutcomeUnknownException;
import io.woslo.internal.TxnCombiner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The end of a reservation kept by id (finish, commit of part, rollback): ONE transaction ({@link EndGuard}) that
 * compares the record's mod revision and, when counters change, the lock entry that fences them; it gives back what
 * is not kept, deletes the record and the entry, and writes the idempotency record. Of two processes ending one
 * reservation, exactly one commits; the other finds the record gone.
 */
final class StoredEnds {
    private final Client client;
    private final KV kv;
    private final KeyLayout layout;
    private final CounterStore counters;
    private final Idempotency idempotency;
    private final AccountLock locks;
    private final QuotaArithmetic arithmetic;
    /** Group commit of the reads and transactions that end reservations. */
    private final TxnCombiner ends;
    private final Duration opTimeout;

    StoredEnds(Client client, KeyLayout layout, CounterStore counters, Idempotency idempotency, AccountLock locks,
               QuotaArithmetic arithmetic, Duration opTimeout) {
        this.client = client;
        this.kv = client.getKVClient();
        this.layout = layout;
        this.counters = counters;
        this.idempotency = idempotency;
        this.locks = locks;
        this.arithmetic = arithmetic;
        this.ends = new TxnCombiner(kv, counters.writeTimeout());
        this.opTimeout = opTimeout;
    }

    /**
     * Ends a reservation, keeping {@code keep} of its amounts (null: all of them; empty: none, a rollback) and giving
     * the rest back, in one transaction. False when it is unknown or already ended.
     *
     * @throws IllegalArgumentException (as the future's failure) when {@code keep} names a resource the reservation
     *                                  does not hold, or more than it holds; nothing changes then
     */
    CompletableFuture<Boolean> end(String id, Map<String, Long> keep, IdempotencyKey key, Call call) {
        if (ReservationIds.looksNoop(id)) {
            if (keep != null) {
                Requirements.kept(id, Map.of(), keep);
            }
            return CompletableFuture.completedFuture(ReservationIds.isNoopId(id));
        }
        long deadline = System.nanoTime() + opTimeout.toNanos();
        String account = ReservationIds.accountOf(id);
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
        ByteSequence record = StoredRecord.key(layout, id);
        ByteSequence entry = bytes(locks.reservationEntryKey(account, id));
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
                    claim == null ? Set.of() : Set.of(claim.etcdKey())));
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
        List<Op> reads = new ArrayList<>(List.of(Op.get(StoredRecord.key(layout, id), GetOption.DEFAULT)));
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
                        return CompletableFuture.<Boolean>failedFuture(new OutcomeUnknownException(
                                "etcd did not answer " + what + " in time, and it has ended: by this call or another",
                                null));
                    }
                    KeyValue record = found.get(0);
                    StoredRecord stored = Json.read(record.getValue(), StoredRecord.class);
                    EndGuard guard = new EndGuard(client, layout, counters.writeTimeout(), stored.account(),
                            stored.resources().keySet(), record, null, stored.entry(), stored.entryRevision(record),
                            claim);
                    return counters.resolve(new CounterStore.LostWrite(guard, "blind", what)).thenApply(v -> true);
                });
    }

    private CompletableFuture<Boolean> endOnce(String id, Map<String, Long> keep, IdempotencyKey key, Call call,
                                               long deadline) {
        List<Op> reads = new ArrayList<>(2);
        reads.add(Op.get(StoredRecord.key(layout, id), GetOption.DEFAULT));
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
                    StoredRecord stored = Json.read(record.getValue(), StoredRecord.class);
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
    private CompletableFuture<?> write(KeyValue record, StoredRecord stored, Map<String, Long> giveBack,
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
     * Ends a reservation keeping everything: the guard's transaction alone, group-committed with other ends
     * ({@link CounterStore#commitAlone}).
     */
    private CompletableFuture<Void> keepAll(EndGuard guard, Idempotency.Claim claim) {
        return counters.commitAlone(guard, ends, claim == null ? Set.of() : Set.of(claim.etcdKey()),
                "the end of a reservation of account '" + guard.account() + "'");
    }

    private CompletableFuture<Map<String, Counter>> lowerUnder(KeyValue record, StoredRecord stored,
                                                           Map<String, Long> giveBack, Idempotency.Claim claim,
                                                           Fence fence, long entryRevision) {
        EndGuard guard = new EndGuard(client, layout, counters.writeTimeout(), stored.account(),
                stored.resources().keySet(), record, fence, stored.entry(), entryRevision, claim);
        return counters.update(stored.account(), giveBack.keySet(), null, guard,
                seen -> arithmetic.lowerPlan(stored.account(), giveBack, seen));
    }
}
