package io.woslo.internal;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Reads and changes the counters of one account. Every change is one etcd transaction that compares the mod
 * revision of every counter it read and writes all the counters it changes, so a change over several resources is
 * all-or-nothing. A failed compare is the expected outcome of a race: the transaction's else branch returns the
 * current values, the plan is computed again on them, and the change retried with a short jittered back-off until
 * the operation timeout.
 */
public final class CounterStore {
    private static final int MAX_BACKOFF_MILLIS = 32;

    private final KV kv;
    private final Watch watches;
    private final KeyLayout layout;
    private final Duration opTimeout;
    /**
     * The bound on one fenced write and on its settlement: a quarter of the operation timeout, so that a write whose
     * answer is lost is settled (landed, or withdrawn) while its caller still waits.
     */
    private final Duration writeTimeout;

    private final java.util.concurrent.atomic.LongAdder conflictCount;

    /** @param conflictCount counts every transaction that lost its compare and was planned again */
    public CounterStore(Client client, KeyLayout layout, Duration opTimeout,
                        java.util.concurrent.atomic.LongAdder conflictCount) {
        this.kv = client.getKVClient();
        this.watches = client.getWatchClient();
        this.layout = layout;
        this.opTimeout = opTimeout;
        this.writeTimeout = opTimeout.dividedBy(4);
        this.conflictCount = conflictCount;
    }

    /** Reads the counters of {@code resources} (one round trip); absent ones are {@link VersionedCounter#MISSING}. */
    public CompletableFuture<Map<String, VersionedCounter>> read(String account, Collection<String> resources) {
        return readAll(account).thenApply(byKey -> {
            Map<String, VersionedCounter> out = new LinkedHashMap<>();
            for (String resource : resources) {
                KeyValue kv = byKey.get(layout.quotaKey(account, resource));
                out.put(resource, kv == null ? VersionedCounter.MISSING : versioned(kv));
            }
            return out;
        });
    }

    /** The account's index key ({@code <ns>/accounts/<account>}) as stored, or null when absent. */
    public CompletableFuture<KeyValue> readAccountIndex(String account) {
        return Futures.bounded(kv.get(bytes(layout.accountKey(account))), opTimeout,
                        "a read of the account index of '" + account + "'")
                .thenApply(response -> response.getKvs().isEmpty() ? null : response.getKvs().get(0));
    }

    /** Every counter of {@code account} as stored, by key (one round trip). */
    public CompletableFuture<Map<String, KeyValue>> readAll(String account) {
        return Futures.bounded(kv.get(bytes(layout.quotaPrefix(account)), GetOption.builder().isPrefix(true).build()),
                        opTimeout, "a read of the counters of account '" + account + "'")
                .thenApply(response -> {
                    Map<String, KeyValue> out = new LinkedHashMap<>();
                    response.getKvs().forEach(kv -> out.put(Json.string(kv.getKey()), kv));
                    return out;
                });
    }

    /**
     * Applies {@code plan} atomically: the plan sees the current counters of {@code resources} and returns the new
     * values of those it changes (an empty map changes nothing). It may throw to refuse the change, e.g. when quota
     * would be exceeded; the refusal is the future's failure. Completes with the counters as written.
     *
     * <p>The transaction is fenced by {@code fence}, the caller's account lock entry: when the entry is no longer the
     * one granted, nothing is written and the future fails with {@link LockLostException}. When etcd does not answer
     * in time, the write is settled ({@link #settle}): landed, the future completes; not landed, the entry is removed
     * so that it never can (the future fails with {@link EtcdUnavailableException}, and the caller's lock is gone);
     * when etcd does not answer that either, the future fails with {@link OutcomeUnknownException}.
     *
     * @param snapshot counters already read for {@code resources}, or null to read them first
     */
    public CompletableFuture<Map<String, Counter>> update(
            String account, Collection<String> resources, Map<String, VersionedCounter> snapshot, Fence fence,
            Function<Map<String, VersionedCounter>, Map<String, Counter>> plan) {
        return update(account, resources, snapshot, fenced(fence, List.of()), plan);
    }

    /**
     * {@link #update(String, Collection, Map, Fence, Function)} with more guarded changes in the same transaction
     * ({@code also}), made even when the plan changes no counter.
     */
    public CompletableFuture<Map<String, Counter>> update(
            String account, Collection<String> resources, Map<String, VersionedCounter> snapshot, Fence fence,
            List<Also> also, Function<Map<String, VersionedCounter>, Map<String, Counter>> plan) {
        return update(account, resources, snapshot, fenced(fence, also), plan);
    }

    /**
     * The general form: the counter compares and writes, plus whatever {@code guard} adds (its compares must hold,
     * its writes go with the counters'). A failed compare of the guard fails the future with the guard's
     * {@link Guard#failure}; a failed counter compare is a conflict, planned again on the else branch's values. A
     * write whose answer was lost is settled by {@link Guard#settle}.
     */
    public CompletableFuture<Map<String, Counter>> update(
            String account, Collection<String> resources, Map<String, VersionedCounter> snapshot, Guard guard,
            Function<Map<String, VersionedCounter>, Map<String, Counter>> plan) {
        long deadline = System.nanoTime() + opTimeout.toNanos();
        CompletableFuture<Map<String, VersionedCounter>> first = snapshot != null
                ? CompletableFuture.completedFuture(snapshot)
                : read(account, resources);
        return first.thenCompose(
                current -> attempt(account, List.copyOf(resources), current, guard, plan, deadline, 0));
    }

    /**
     * What a counter write is conditioned on besides its counters (a lock entry, a stored reservation's record, an
     * idempotency key), what it writes with them, and how a write whose answer was lost is settled. The operations
     * must not name the counters' keys (etcd refuses a transaction that writes one key twice).
     */
    public interface Guard {
        /** What must hold besides the counters' mod revisions. */
        List<Cmp> compares();

        /**
         * What is written with the counters; {@code writeId} is unique to one attempt (a mark to settle it by), and
         * {@code changed} names the counters the attempt writes.
         */
        List<Op> writes(String writeId, java.util.Set<String> changed);

        /** What the else branch reads, to tell a failed guard from a counter conflict. */
        List<Op> reads();

        /**
         * Given what {@link #reads()} returned after the transaction failed: the failure when this guard did not
         * hold (nothing was written), or null when it held and the counters conflicted.
         */
        RuntimeException failure(List<GetResponse> reads, String what);

        /**
         * After the answer of the write marked {@code writeId} was lost: true when it landed, false when it did not
         * and now never will. Fails when etcd cannot tell now.
         */
        CompletableFuture<Boolean> settle(String writeId);

        /** Whether the write goes to etcd even when the plan changes no counter (it ends something). */
        default boolean writesAlone() {
            return false;
        }
    }

    /**
     * A change made with a counter update, under a compare of its own (e.g. an idempotency key written with the
     * change it guards, so that a retry of the same request finds it and applies nothing twice).
     *
     * @param compare must hold too
     * @param write done with the counters
     * @param read read in the else branch
     * @param holds whether {@code compare} held, judged on what {@code read} returned
     * @param whenNot the failure when it did not, given what {@code read} returned
     */
    public record Also(Cmp compare, Op write, Op read, java.util.function.Predicate<List<KeyValue>> holds,
                       Function<List<KeyValue>, RuntimeException> whenNot) {
        /** The failure when this did not hold on {@code seen}, else null. */
        public RuntimeException failure(List<KeyValue> seen) {
            return holds.test(seen) ? null : whenNot.apply(seen);
        }
    }

    /**
     * The guard of a write under an account lock: the lock entry still the one granted, rewritten with the write's
     * mark ({@link Fence#touch}), plus {@code also}; a lost write is settled by that mark ({@link #settle}).
     */
    public Guard fenced(Fence fence, List<Also> also) {
        return new FencedGuard(kv, watches, writeTimeout, fence, List.copyOf(also));
    }

    private CompletableFuture<Map<String, Counter>> attempt(
            String account, List<String> resources, Map<String, VersionedCounter> current, Guard guard,
            Function<Map<String, VersionedCounter>, Map<String, Counter>> plan, long deadline, int conflicts) {
        Map<String, Counter> changes = plan.apply(current);
        if (changes.isEmpty() && !guard.writesAlone()) {
            return CompletableFuture.completedFuture(changes);
        }
        List<Cmp> compares = new ArrayList<>(resources.size() + 1);
        List<Op> reads = new ArrayList<>(resources.size() + 1);
        for (String resource : resources) {
            ByteSequence key = bytes(layout.quotaKey(account, resource));
            compares.add(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(current.get(resource).modRevision())));
            reads.add(Op.get(key, GetOption.DEFAULT));
        }
        List<Op> writes = new ArrayList<>(changes.size() + 2);
        changes.forEach((resource, counter) ->
                writes.add(Op.put(bytes(layout.quotaKey(account, resource)), Json.write(counter), PutOption.DEFAULT)));
        changes.entrySet().stream()
                .filter(change -> !current.get(change.getKey()).exists())
                .mapToLong(change -> change.getValue().refreshedAt())
                .max()
                .ifPresent(createdAt -> writes.add(accountIndexPut(account, createdAt))); // a counter created here
        String writeId = Long.toHexString(ThreadLocalRandom.current().nextLong());
        compares.addAll(guard.compares());
        writes.addAll(guard.writes(writeId, changes.keySet()));
        reads.addAll(guard.reads());
        CompletableFuture<TxnResponse> txn = kv.txn()
                .If(compares.toArray(Cmp[]::new))
                .Then(writes.toArray(Op[]::new))
                .Else(reads.toArray(Op[]::new))
                .commit();
        String what = "an update of the counters of account '" + account + "'";
        return Futures.bounded(txn, writeTimeout, what)
                .exceptionallyCompose(error -> settleIfLost(error, guard, writeId, what)
                        .thenApply(landed -> (TxnResponse) null))
                .thenCompose(response -> {
                    if (response == null || response.isSucceeded()) {
                        return CompletableFuture.completedFuture(changes);
                    }
                    List<GetResponse> gets = response.getGetResponses();
                    RuntimeException refused = guard.failure(gets.subList(resources.size(), gets.size()), what);
                    if (refused != null) {
                        return CompletableFuture.failedFuture(refused);
                    }
                    if (System.nanoTime() > deadline) {
                        return CompletableFuture.failedFuture(new EtcdUnavailableException("the counters of account '"
                                + account + "' stayed contended for " + opTimeout + " (" + conflicts + " conflicts)",
                                null));
                    }
                    conflictCount.increment();
                    Map<String, VersionedCounter> fresh = fromElse(resources, gets);
                    int pause = ThreadLocalRandom.current()
                            .nextInt(1, Math.min(MAX_BACKOFF_MILLIS, 1 << Math.min(conflicts, 5)) + 1);
                    return CompletableFuture.supplyAsync(() -> fresh,
                                    CompletableFuture.delayedExecutor(pause, TimeUnit.MILLISECONDS))
                            .thenCompose(next -> attempt(account, resources, next, guard, plan, deadline,
                                    conflicts + 1));
                });
    }

    /**
     * {@code guard}'s transaction alone, changing no counter (e.g. the end of a reservation that gives nothing back),
     * sent through {@code combiner} so that concurrent ones share one transaction. It is sent again when another part
     * failed the combined transaction while this guard held; it fails with the guard's {@link Guard#failure} when the
     * guard did not hold; an answer that was lost is settled as {@link #update}'s are ({@link #resolve}).
     *
     * @param claimed keys the guard writes that another part may write too ({@link TxnCombiner.Part})
     */
    public CompletableFuture<Void> commitAlone(Guard guard, TxnCombiner combiner, java.util.Set<ByteSequence> claimed,
                                               String what) {
        String writeId = Long.toHexString(ThreadLocalRandom.current().nextLong());
        TxnCombiner.Submission txn = combiner.submit(new TxnCombiner.Part(guard.compares(),
                guard.writes(writeId, java.util.Set.of()), guard.reads(), claimed));
        return txn.outcome().handle((outcome, error) -> {
            if (error != null) {
                return settleIfLost(error, guard, writeId, what);
            }
            if (outcome.succeeded()) {
                return CompletableFuture.<Void>completedFuture(null);
            }
            RuntimeException refused = guard.failure(outcome.gets(), what);
            return refused != null
                    ? CompletableFuture.<Void>failedFuture(refused)
                    : commitAlone(guard, combiner, claimed, what);
        }).thenCompose(next -> next);
    }

    /** A guarded write that failed with {@code error}: settled when its answer was lost, else failed with it. */
    private CompletableFuture<Void> settleIfLost(Throwable error, Guard guard, String writeId, String what) {
        return Futures.unwrap(error) instanceof EtcdUnavailableException
                ? resolve(new LostWrite(guard, writeId, what))
                : CompletableFuture.failedFuture(Futures.unwrap(error));
    }

    /**
     * A guarded write whose answer never came: its guard, and the mark it carried.
     *
     * @param what how messages name the write
     */
    public record LostWrite(Guard guard, String writeId, String what) {
    }

    /**
     * After a guarded write got no answer: completes normally when the write landed, fails with
     * {@link EtcdUnavailableException} when it did not and never will, and with {@link OutcomeUnknownException}
     * (carrying the {@link LostWrite}) when etcd cannot tell us now.
     */
    public CompletableFuture<Void> resolve(LostWrite lost) {
        return settle(lost).handle((landed, error) -> {
            if (error != null) {
                throw new OutcomeUnknownException("etcd did not answer " + lost.what() + " in time, nor whether it"
                        + " was applied", Futures.unwrap(error), lost);
            }
            if (!landed) {
                throw new EtcdUnavailableException("etcd did not answer " + lost.what() + " in time; it was not"
                        + " applied (and can no longer be)", null);
            }
            return null;
        });
    }

    /** Tells whether a lost guarded write landed, making sure one that did not never will ({@link Guard#settle}). */
    public CompletableFuture<Boolean> settle(LostWrite lost) {
        return lost.guard().settle(lost.writeId());
    }

    /** The bound on one guarded write and on its settlement (a quarter of the operation timeout). */
    public Duration writeTimeout() {
        return writeTimeout;
    }

    private static Map<String, VersionedCounter> fromElse(List<String> resources, List<GetResponse> gets) {
        Map<String, VersionedCounter> out = new LinkedHashMap<>();
        for (int i = 0; i < resources.size(); i++) {
            List<KeyValue> kvs = gets.get(i).getKvs();
            out.put(resources.get(i), kvs.isEmpty() ? VersionedCounter.MISSING : versioned(kvs.get(0)));
        }
        return out;
    }

    private static VersionedCounter versioned(KeyValue kv) {
        return new VersionedCounter(Json.read(kv.getValue(), Counter.class), kv.getModRevision());
    }

    /** Writes {@code <ns>/accounts/<account>} with the refresh time. */
    public CompletableFuture<Void> touchAccount(String account, long refreshedAtMillis) {
        return Futures.bounded(kv.put(bytes(layout.accountKey(account)), accountIndexValue(refreshedAtMillis)),
                        opTimeout, "the account index of '" + account + "'")
                .thenApply(r -> null);
    }

    /** The same write as {@link #touchAccount}, as a transaction operation. */
    private Op accountIndexPut(String account, long refreshedAtMillis) {
        return Op.put(bytes(layout.accountKey(account)), accountIndexValue(refreshedAtMillis), PutOption.DEFAULT);
    }

    private static ByteSequence accountIndexValue(long refreshedAtMillis) {
        return Json.write(Map.of("refreshedAt", refreshedAtMillis));
    }

    /** Every account in the index with its refresh time (epoch ms). */
    public CompletableFuture<Map<String, Long>> accounts() {
        String prefix = layout.accountsPrefix();
        return Futures.bounded(kv.get(bytes(prefix), GetOption.builder().isPrefix(true).build()), opTimeout,
                        "a read of the account index")
                .thenApply(response -> {
                    Map<String, Long> out = new LinkedHashMap<>();
                    for (KeyValue kv : response.getKvs()) {
                        long at;
                        try {
                            at = Json.MAPPER.readTree(kv.getValue().getBytes()).path("refreshedAt").asLong();
                        } catch (java.io.IOException e) {
                            at = 0;
                        }
                        out.put(layout.accountOf(Json.string(kv.getKey())), at);
                    }
                    return out;
                });
    }
}
