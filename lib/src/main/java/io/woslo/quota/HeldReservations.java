package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.Acquisition;
import io.woslo.internal.CounterStore;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Fence;
import io.woslo.internal.Futures;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LockLostException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/**
 * The ends of reservations held in memory ({@link QuotaReservation}): rollback, close, commit and extension. Each
 * is fenced by the reservation's own read entry; when that entry is gone (its lease ended), amounts go back under a
 * read lock of their own, skipping counters refreshed since the reservation.
 */
final class HeldReservations {
    private final KV kv;
    private final Lease leases;
    private final io.etcd.jetcd.Client client;
    private final KeyLayout layout;
    private final CounterStore counters;
    private final AccountLock locks;
    private final Releases releases;
    private final QuotaArithmetic arithmetic;
    private final Delivery delivery;
    private final Duration operationTimeout;

    HeldReservations(io.etcd.jetcd.Client client, KeyLayout layout, CounterStore counters, AccountLock locks,
                     Releases releases, QuotaArithmetic arithmetic, Delivery delivery, Duration operationTimeout) {
        this.client = client;
        this.kv = client.getKVClient();
        this.leases = client.getLeaseClient();
        this.layout = layout;
        this.counters = counters;
        this.locks = locks;
        this.releases = releases;
        this.arithmetic = arithmetic;
        this.delivery = delivery;
        this.operationTimeout = operationTimeout;
    }

    /** How the ends reach their callers. */
    Delivery delivery() {
        return delivery;
    }

    /**
     * Gives {@code amounts} back, fenced by {@code lock} (null: the reservation was closed; a read lock of its own).
     */
    CompletableFuture<Void> rollback(String account, Map<String, Long> amounts, long reservedAtMillis,
                                     Acquisition lock, Call call) {
        return releases.release(account, amounts, reservedAtMillis, lock, false, call, "rollback");
    }

    /** Releases the reservation's read entry; never fails (an entry that could not go ends with its lease). */
    CompletableFuture<Void> close(Acquisition lock) {
        return locks.unlock(lock);
    }

    /**
     * Ends a reservation giving {@code giveBack} back: ONE transaction lowers the counters and deletes the
     * reservation's lock entry, fenced by that entry ({@link EndGuard}). When the entry is gone already (its lease
     * ended), the amounts are given back under a read lock of its own, skipping counters refreshed since the
     * reservation. Nothing to give back is a plain release of the lock.
     */
    CompletableFuture<Void> commit(String account, Map<String, Long> giveBack, Acquisition lock,
                                   long reservedAtMillis, Call call) {
        if (giveBack.isEmpty()) {
            return locks.unlock(lock);
        }
        if (!call.beginWrite()) {
            return CompletableFuture.failedFuture(Call.abandonedBeforeWriting("the commit of a reservation"));
        }
        locks.releasing(lock);
        EndGuard guard = new EndGuard(client, layout, counters.writeTimeout(), account, giveBack.keySet(), null,
                Fence.of(lock), lock.entryKey(), lock.revision(), null);
        return counters.update(account, giveBack.keySet(), null, guard,
                        seen -> arithmetic.lowerPlan(account, giveBack, seen))
                .thenAccept(written -> locks.deleted(lock))
                .exceptionallyCompose(error -> Futures.unwrap(error) instanceof LockLostException
                        ? releases.release(account, giveBack, reservedAtMillis, null, false, call, "commit")
                        : CompletableFuture.failedFuture(error));
    }

    /**
     * Moves a held lock entry to a lease of its own of {@code by}, so the lock lives at least that long from now
     * (never shortened). Completes with the acquisition on its new lease (or the same one when it lives long
     * enough); a lost answer is settled on the entry ({@link LeaseMove}).
     */
    CompletableFuture<Acquisition> extend(Acquisition lock, Duration by) {
        ByteSequence entry = bytes(lock.entryKey());
        String what = "the extension of lock entry " + lock.entryKey();
        return Futures.bounded(kv.get(entry), operationTimeout, "a read of " + lock.entryKey())
                .thenCompose(got -> {
                    if (got.getKvs().isEmpty() || got.getKvs().get(0).getCreateRevision() != lock.revision()) {
                        return CompletableFuture.failedFuture(Fence.of(lock).lost(what));
                    }
                    KeyValue now = got.getKvs().get(0);
                    long seconds = (by.toMillis() + 999) / 1000;
                    return Futures.bounded(leases.timeToLive(now.getLease(), LeaseOption.DEFAULT), operationTimeout,
                                    "a read of the lease of " + lock.entryKey())
                            .thenCompose(left -> left.getTTL() >= seconds // lives long enough: never shortened
                                    ? CompletableFuture.completedFuture(lock)
                                    : Futures.bounded(leases.grant(seconds), operationTimeout,
                                                    "a lease grant for " + what)
                                            .thenCompose(grant -> move(lock, now, grant.getID(), what)));
                });
    }

    private CompletableFuture<Acquisition> move(Acquisition lock, KeyValue entry, long lease, String what) {
        Cmp unchanged = new Cmp(entry.getKey(), Cmp.Op.EQUAL, CmpTarget.modRevision(entry.getModRevision()));
        Op read = Op.get(entry.getKey(), GetOption.builder().withKeysOnly(true).build());
        Op put = Op.put(entry.getKey(), entry.getValue(), PutOption.builder().withLeaseId(lease).build());
        CompletableFuture<Boolean> moved = LeaseMove.move(kv, counters.writeTimeout(), List.of(unchanged),
                        List.of(put), List.of(read), entry, what)
                .thenApply(outcome -> outcome.moved()
                        || !outcome.withdrawn() && movedTo(lock, lease, seen(outcome), what));
        return moved.handle((landed, error) -> {
            if (error == null && landed) {
                locks.releasing(lock); // its loss signal counted the old lease
                return AccountLock.onOwnLease(lock, lease);
            }
            Futures.bounded(leases.revoke(lease), operationTimeout, "a lease revoke").exceptionally(e -> null);
            throw new CompletionException(error != null ? Futures.unwrap(error) : new EtcdUnavailableException(what
                    + " was not applied (the entry changed meanwhile, or etcd did not answer in time); the lock keeps"
                    + " its lease", null));
        });
    }

    /** The entry as the move's else branch or its settlement saw it, or null when gone. */
    private static KeyValue seen(LeaseMove.Outcome outcome) {
        if (outcome.lost()) {
            return outcome.now();
        }
        List<KeyValue> kvs = outcome.answer().getGetResponses().get(0).getKvs();
        return kvs.isEmpty() ? null : kvs.get(0);
    }

    /** After a move that did not commit as sent: whether the entry is on {@code lease} now; fails when it is gone. */
    private static boolean movedTo(Acquisition lock, long lease, KeyValue seen, String what) {
        if (seen == null || seen.getCreateRevision() != lock.revision()) {
            throw Fence.of(lock).lost(what);
        }
        return seen.getLease() == lease;
    }

    /** For callers that end a reservation: the work with its deadline, as a change. */
    <T> CompletableFuture<T> change(String what, Function<Call, CompletableFuture<T>> work) {
        return delivery.deliverChange(what, work);
    }
}
