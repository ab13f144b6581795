package io.woslo.quota;

import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Futures;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Moves keys onto a new lease (an extension) in ONE guarded transaction, and settles a lost answer on the key it is
 * guarded by, {@code guard}: if that key is still as compared, it is rewritten as it was, on its old lease, so the
 * lost move can never land (withdrawn); otherwise what the key is now tells the caller whether it landed. Both the
 * extension of a reservation held in memory (its lock entry) and of a stored one (its record) move this way.
 */
final class LeaseMove {
    private LeaseMove() {
    }

    /**
     * What became of a move.
     *
     * @param answer the move's answer, or null when it was lost and settled
     * @param withdrawn when lost: whether the settlement withdrew it (it never lands)
     * @param now when lost and not withdrawn: the guard key as it is now, or null when it is gone
     */
    record Outcome(TxnResponse answer, boolean withdrawn, KeyValue now) {
        /** Whether the move is known to have committed as sent. */
        boolean moved() {
            return answer != null && answer.isSucceeded();
        }

        boolean lost() {
            return answer == null;
        }
    }

    /**
     * Commits {@code If(compares) Then(puts) Else(reads)} within {@code bound}; when etcd does not answer in time,
     * settles it on {@code guard} (which {@code compares} must compare on its mod revision). Fails as the
     * transaction does for any other error.
     */
    static CompletableFuture<Outcome> move(KV kv, Duration bound, List<Cmp> compares, List<Op> puts, List<Op> reads,
                                           KeyValue guard, String what) {
        CompletableFuture<TxnResponse> txn = kv.txn().If(compares.toArray(Cmp[]::new)).Then(puts.toArray(Op[]::new))
                .Else(reads.toArray(Op[]::new)).commit();
        return Futures.bounded(txn, bound, what)
                .thenApply(response -> new Outcome(response, false, null))
                .exceptionallyCompose(error -> Futures.unwrap(error) instanceof EtcdUnavailableException
                        ? settle(kv, bound, guard, what)
                        : CompletableFuture.failedFuture(error));
    }

    private static CompletableFuture<Outcome> settle(KV kv, Duration bound, KeyValue guard, String what) {
        CompletableFuture<TxnResponse> txn = kv.txn()
                .If(new Cmp(guard.getKey(), Cmp.Op.EQUAL, CmpTarget.modRevision(guard.getModRevision())))
                .Then(Op.put(guard.getKey(), guard.getValue(),
                        PutOption.builder().withLeaseId(guard.getLease()).build()))
                .Else(Op.get(guard.getKey(), GetOption.DEFAULT))
                .commit();
        return Futures.bounded(txn, bound, "the settlement of " + what).thenApply(response -> {
            if (response.isSucceeded()) {
                return new Outcome(null, true, null);
            }
            List<KeyValue> now = response.getGetResponses().get(0).getKvs();
            return new Outcome(null, false, now.isEmpty() ? null : now.get(0));
        });
    }
}
