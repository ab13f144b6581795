package io.woslo.internal;

import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.Op;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Group commit of guarded transactions: while one transaction is in flight, the parts submitted meanwhile wait and
 * go together in the next one, their compares joined, their branches concatenated. One part alone costs one round
 * trip, as its own transaction would; many concurrent parts (reservations of different accounts) share one raft
 * write. The parts commit or fail together: a part whose own compares held in a failed transaction finds that out
 * from its else reads and simply submits again.
 *
 * <p>A failure to build or to read back a transaction never stalls the combiner: the parts concerned fail and the
 * next batch goes out. When a batch of several parts cannot be built (jetcd builds the request in {@code commit()},
 * where a malformed operation throws), its parts are sent again one by one, so only the malformed part fails.
 */
public final class TxnCombiner {
    /** etcd refuses transactions with more than 128 compares or operations per branch by default. */
    public static final int MAX_OPS = 128;

    private final KV kv;
    private final Duration opTimeout;
    private final List<Pending> waiting = new ArrayList<>();
    private boolean inFlight;

    /**
     * One guarded change.
     *
     * @param compares what must hold
     * @param thenOps done if every compare of the combined transaction holds
     * @param elseOps done otherwise (reads, to re-plan on)
     * @param claimed keys the part writes that another part may write too (an idempotency key): parts that share one
     *                never go in one transaction, which etcd would refuse as a whole ("duplicate key given in txn
     *                request")
     */
    public record Part(List<Cmp> compares, List<Op> thenOps, List<Op> elseOps,
                       java.util.Set<io.etcd.jetcd.ByteSequence> claimed) {
        /** The lists are copied: a caller changing its own lists later cannot skew the batch's read-back. */
        public Part {
            compares = List.copyOf(compares);
            thenOps = List.copyOf(thenOps);
            elseOps = List.copyOf(elseOps);
            claimed = java.util.Set.copyOf(claimed);
        }

        /** A part that writes no key another part may write. */
        public Part(List<Cmp> compares, List<Op> thenOps, List<Op> elseOps) {
            this(compares, thenOps, elseOps, java.util.Set.of());
        }

        int size() {
            return Math.max(compares.size(), Math.max(thenOps.size(), elseOps.size()));
        }
    }

    /**
     * What happened to a part's transaction.
     *
     * @param succeeded whether the combined transaction's compares held (the part's then-ops were done)
     * @param revision the store revision after the transaction
     * @param gets the responses of the part's get operations in the branch that ran, in order
     * @param deleted how many keys each of the part's delete operations in that branch removed, in order
     */
    public record Outcome(boolean succeeded, long revision, List<GetResponse> gets, List<Long> deleted) {
    }

    /**
     * A submitted part: its outcome, bounded by the operation timeout, and the raw transaction, which may still
     * complete after the outcome timed out (a call made while etcd was unreachable is sent when it is back).
     */
    public record Submission(CompletableFuture<Outcome> outcome, CompletableFuture<TxnResponse> raw) {
    }

    /** @param alone whether the part must go in a transaction of its own (its batch could not be built) */
    private record Pending(Part part, CompletableFuture<Outcome> outcome, CompletableFuture<TxnResponse> raw,
                           boolean alone) {
        Pending sentAlone() {
            return new Pending(part, outcome, raw, true);
        }
    }

    public TxnCombiner(KV kv, Duration opTimeout) {
        this.kv = kv;
        this.opTimeout = opTimeout;
    }

    public Submission submit(Part part) {
        if (part.size() > MAX_OPS) {
            throw new IllegalArgumentException(
                    "a transaction part of " + part.size() + " operations exceeds " + MAX_OPS);
        }
        Pending pending = new Pending(part, new CompletableFuture<>(), new CompletableFuture<>(), false);
        List<Pending> batch;
        // The outcome is bounded from the submission, not from the send: a part queued behind a transaction in
        // flight must not wait for that one's bound and then its own.
        Submission submission = new Submission(boundedFromNow(pending.outcome()), pending.raw());
        synchronized (this) {
            waiting.add(pending);
            if (inFlight) {
                return submission;
            }
            inFlight = true;
            batch = takeBatch();
        }
        send(batch);
        return submission;
    }

    /** {@code outcome}, failing with {@link EtcdUnavailableException} when it is not done within the timeout. */
    private CompletableFuture<Outcome> boundedFromNow(CompletableFuture<Outcome> outcome) {
        return outcome.copy().orTimeout(opTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                .exceptionallyCompose(error -> CompletableFuture.failedFuture(
                        Futures.unwrap(error) instanceof java.util.concurrent.TimeoutException
                                ? new EtcdUnavailableException("etcd did not answer a queued transaction within "
                                        + opTimeout, Futures.unwrap(error))
                                : Futures.unwrap(error)));
    }

    private List<Pending> takeBatch() {
        List<Pending> batch = new ArrayList<>();
        int compares = 0;
        int thenOps = 0;
        int elseOps = 0;
        java.util.Set<io.etcd.jetcd.ByteSequence> claimed = new java.util.HashSet<>();
        while (!waiting.isEmpty()) {
            if (!batch.isEmpty() && (batch.get(0).alone() || waiting.get(0).alone())) {
                break;
            }
            Part next = waiting.get(0).part();
            if (!batch.isEmpty() && (compares + next.compares().size() > MAX_OPS
                    || thenOps + next.thenOps().size() > MAX_OPS || elseOps + next.elseOps().size() > MAX_OPS
                    || next.claimed().stream().anyMatch(claimed::contains))) {
                break;
            }
            claimed.addAll(next.claimed());
            compares += next.compares().size();
            thenOps += next.thenOps().size();
            elseOps += next.elseOps().size();
            batch.add(waiting.remove(0));
        }
        return batch;
    }

    /** Sends {@code batch}, or the next one that can be built; leaves the combiner idle when none is left. */
    private void send(List<Pending> batch) {
        List<Pending> current = batch;
        while (!dispatch(current)) {
            synchronized (this) {
                if (waiting.isEmpty()) {
                    inFlight = false;
                    return;
                }
                current = takeBatch();
            }
        }
    }

    /** Sends one batch; false when it could not be built (its parts then failed, or wait to go alone). */
    private boolean dispatch(List<Pending> batch) {
        List<Cmp> compares = new ArrayList<>();
        List<Op> thenOps = new ArrayList<>();
        List<Op> elseOps = new ArrayList<>();
        for (Pending p : batch) {
            compares.addAll(p.part().compares());
            thenOps.addAll(p.part().thenOps());
            elseOps.addAll(p.part().elseOps());
        }
        CompletableFuture<TxnResponse> raw;
        try {
            raw = kv.txn()
                    .If(compares.toArray(Cmp[]::new))
                    .Then(thenOps.toArray(Op[]::new))
                    .Else(elseOps.toArray(Op[]::new))
                    .commit();
        } catch (RuntimeException buildFailed) {
            // Nothing was sent. Alone, the part is the malformed one; in a batch, which one is unknown.
            if (batch.size() == 1) {
                Pending p = batch.get(0);
                p.raw().completeExceptionally(buildFailed);
                p.outcome().completeExceptionally(new IllegalArgumentException(
                        "a transaction part could not be built (nothing was sent): " + buildFailed, buildFailed));
            } else {
                synchronized (this) {
                    for (int i = batch.size() - 1; i >= 0; i--) {
                        waiting.add(0, batch.get(i).sentAlone());
                    }
                }
            }
            return false;
        }
        raw.whenComplete((response, error) -> batch.forEach(p -> {
            if (error != null) {
                p.raw().completeExceptionally(error);
            } else {
                p.raw().complete(response);
            }
        }));
        String what = "a transaction of " + batch.size() + " parts";
        Futures.bounded(raw, opTimeout, what).whenComplete((response, error) -> {
            try {
                if (error != null) {
                    batch.forEach(p -> p.outcome().completeExceptionally(error));
                } else {
                    distribute(batch, response);
                }
            } catch (RuntimeException readBackFailed) {
                // The transaction ran, but its answer could not be handed out; each part's raw response has it.
                IllegalStateException failure = new IllegalStateException("the outcome of a transaction of "
                        + batch.size() + " parts could not be read back (it did run; see the raw response)",
                        readBackFailed);
                batch.forEach(p -> p.outcome().completeExceptionally(failure));
            } finally {
                sendNext();
            }
        });
        return true;
    }

    /** Sends the next batch, or leaves the combiner idle when nothing waits. */
    private void sendNext() {
        List<Pending> next;
        synchronized (this) {
            if (waiting.isEmpty()) {
                inFlight = false;
                return;
            }
            next = takeBatch();
        }
        send(next);
    }

    private static void distribute(List<Pending> batch, TxnResponse response) {
        boolean succeeded = response.isSucceeded();
        long revision = response.getHeader().getRevision();
        List<GetResponse> gets = response.getGetResponses();
        List<Long> deleted = response.getDeleteResponses().stream().map(d -> d.getDeleted()).toList();
        int getsAt = 0;
        int deletesAt = 0;
        for (Pending p : batch) {
            List<Op> ran = succeeded ? p.part().thenOps() : p.part().elseOps();
            int getCount = (int) ran.stream().filter(op -> op instanceof Op.GetOp).count();
            int deleteCount = (int) ran.stream().filter(op -> op instanceof Op.DeleteOp).count();
            p.outcome().complete(new Outcome(succeeded, revision, List.copyOf(gets.subList(getsAt, getsAt + getCount)),
                    deleted.subList(deletesAt, deletesAt + deleteCount)));
            getsAt += getCount;
            deletesAt += deleteCount;
        }
    }
}
