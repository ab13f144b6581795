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
import io.etcd.jetcd.watch.WatchEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
    public CompletableFuture<Map<String, Counter>> update(String account, Collection<String> resources,
                                                          Map<String, VersionedCounter> snapshot, Fence fence,
                                                          Function<Map<String, VersionedCounter>, Map<String, Counter>> plan) {
        return update(account, resources, snapshot, fence, null, plan);
    }

    /**
     * {@link #update(String, Collection, Map, Fence, Function)} with one more guarded change in the same transaction
     * ({@code also}), made even when the plan changes no counter.
     */
    public CompletableFuture<Map<String, Counter>> update(String account, Collection<String> resources,
                                                          Map<String, VersionedCounter> snapshot, Fence fence, Also also,
                                                          Function<Map<String, VersionedCounter>, Map<String, Counter>> plan) {
        long deadline = System.nanoTime() + opTimeout.toNanos();
        CompletableFuture<Map<String, VersionedCounter>> first = snapshot != null
                ? CompletableFuture.completedFuture(snapshot)
                : read(account, resources);
        return first.thenCompose(current -> attempt(account, List.copyOf(resources), current, fence, also, plan,
                deadline, 0));
    }

    /**
     * A change made with a counter update, under a compare of its own (e.g. a stored reservation's record deleted as
     * its amounts are given back, so that of two processes ending it, one does both and the other neither).
     *
     * @param compare must hold too
     * @param write done with the counters
     * @param read read in the else branch
     * @param holds whether {@code compare} held, judged on what {@code read} returned
     * @param whenNot the failure when it did not
     */
    public record Also(Cmp compare, Op write, Op read, java.util.function.Predicate<List<KeyValue>> holds,
                       java.util.function.Supplier<RuntimeException> whenNot) {
    }

    private CompletableFuture<Map<String, Counter>> attempt(String account, List<String> resources,
                                                            Map<String, VersionedCounter> current, Fence fence,
                                                            Also also,
                                                            Function<Map<String, VersionedCounter>, Map<String, Counter>> plan,
                                                            long deadline, int conflicts) {
        Map<String, Counter> changes = plan.apply(current);
        if (changes.isEmpty() && also == null) {
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
        compares.add(fence.compare());
        writes.add(fence.touch(writeId));
        reads.add(fence.read());
        if (also != null) {
            compares.add(also.compare());
            writes.add(also.write());
            reads.add(also.read());
        }
        CompletableFuture<TxnResponse> txn = kv.txn()
                .If(compares.toArray(Cmp[]::new))
                .Then(writes.toArray(Op[]::new))
                .Else(reads.toArray(Op[]::new))
                .commit();
        String what = "an update of the counters of account '" + account + "'";
        return Futures.bounded(txn, writeTimeout, what)
                .exceptionallyCompose(error -> Futures.unwrap(error) instanceof EtcdUnavailableException
                        ? resolve(new LostWrite(fence, writeId, what)).thenApply(landed -> null)
                        : CompletableFuture.failedFuture(error))
                .thenCompose(response -> {
                    if (response == null || response.isSucceeded()) {
                        return CompletableFuture.completedFuture(changes);
                    }
                    List<GetResponse> gets = response.getGetResponses();
                    List<KeyValue> entry = gets.get(resources.size()).getKvs();
                    if (!fence.holds(entry.isEmpty() ? null : entry.get(0))) {
                        return CompletableFuture.failedFuture(fence.lost(what));
                    }
                    if (also != null && !also.holds().test(gets.get(resources.size() + 1).getKvs())) {
                        return CompletableFuture.failedFuture(also.whenNot().get());
                    }
                    if (System.nanoTime() > deadline) {
                        return CompletableFuture.failedFuture(new EtcdUnavailableException("the counters of account '"
                                + account + "' stayed contended for " + opTimeout + " (" + conflicts + " conflicts)", null));
                    }
                    conflictCount.increment();
                    Map<String, VersionedCounter> fresh = fromElse(resources, gets);
                    int pause = ThreadLocalRandom.current().nextInt(1, Math.min(MAX_BACKOFF_MILLIS, 1 << Math.min(conflicts, 5)) + 1);
                    return CompletableFuture.supplyAsync(() -> fresh,
                                    CompletableFuture.delayedExecutor(pause, TimeUnit.MILLISECONDS))
                            .thenCompose(next -> attempt(account, resources, next, fence, also, plan, deadline,
                                    conflicts + 1));
                });
    }

    /**
     * A fenced write whose answer never came: its fence, and the mark its touch left on the fence's entry.
     *
     * @param what how messages name the write
     */
    public record LostWrite(Fence fence, String writeId, String what) {
    }

    /**
     * After a fenced write got no answer: completes normally when the write landed, fails with
     * {@link EtcdUnavailableException} when it did not and never will (its fence entry was removed first), and with
     * {@link OutcomeUnknownException} (carrying the {@link LostWrite}) when etcd cannot tell us now.
     */
    private CompletableFuture<Void> resolve(LostWrite lost) {
        return settle(lost).handle((landed, error) -> {
            if (error != null) {
                throw new OutcomeUnknownException("etcd did not answer " + lost.what() + " in time, nor whether it"
                        + " was applied", Futures.unwrap(error), lost);
            }
            if (!landed) {
                throw new EtcdUnavailableException("etcd did not answer " + lost.what() + " in time; it was not"
                        + " applied and its lock was released", null);
            }
            return null;
        });
    }

    /**
     * Tells whether a lost fenced write landed, and makes sure one that did not never will. One transaction tells and
     * settles: if the fence entry carries the write's mark, it landed (true); if the entry is there without it, the
     * entry is deleted, so that the write, fenced by it, can never land (false; the caller's lock is gone). If the
     * entry has gone already (its lease ended), the write cannot land any more, and etcd's history of the entry says
     * whether the mark was ever written. Fails when etcd does not answer in time.
     */
    public CompletableFuture<Boolean> settle(LostWrite lost) {
        Fence fence = lost.fence();
        ByteSequence entry = bytes(fence.entryKey());
        CompletableFuture<TxnResponse> txn = kv.txn()
                .If(fence.compare(), new Cmp(entry, Cmp.Op.EQUAL, CmpTarget.value(fence.touchValue(lost.writeId()))))
                .Then()
                .Else(fence.read(), Op.delete(entry, io.etcd.jetcd.options.DeleteOption.DEFAULT))
                .commit();
        return Futures.bounded(txn, writeTimeout, "the settlement of " + lost.what()).thenCompose(response -> {
            if (response.isSucceeded()) {
                return CompletableFuture.completedFuture(true);
            }
            List<KeyValue> seen = response.getGetResponses().get(0).getKvs();
            return fence.holds(seen.isEmpty() ? null : seen.get(0))
                    ? CompletableFuture.completedFuture(false)
                    : markedBeforeGone(lost);
        });
    }

    /** Whether the gone fence entry carried the write's mark at some point, from etcd's history of the key. */
    private CompletableFuture<Boolean> markedBeforeGone(LostWrite lost) {
        Fence fence = lost.fence();
        ByteSequence mark = fence.touchValue(lost.writeId());
        return KeyHistory.first(watches, bytes(fence.entryKey()), fence.createRevision(), event -> {
            if (event.getEventType() == WatchEvent.EventType.DELETE) {
                return Optional.of(false); // the entry's end: no mark before it
            }
            return event.getKeyValue().getValue().equals(mark) ? Optional.of(true) : Optional.empty();
        }, writeTimeout, "a read of the history of " + fence.entryKey());
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
