package io.woslo.internal;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.watch.WatchEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The guard of a counter write under an account lock ({@link CounterStore#fenced}): the lock entry still the one
 * granted, rewritten with the write's mark ({@link Fence#touch}), plus any {@link CounterStore.Also}; a write whose
 * answer was lost is settled by that mark.
 */
final class FencedGuard implements CounterStore.Guard {
    private final KV kv;
    private final Watch watches;
    private final Duration writeTimeout;
    private final Fence fence;
    private final List<CounterStore.Also> also;

    FencedGuard(KV kv, Watch watches, Duration writeTimeout, Fence fence, List<CounterStore.Also> also) {
        this.kv = kv;
        this.watches = watches;
        this.writeTimeout = writeTimeout;
        this.fence = fence;
        this.also = also;
    }

    @Override
    public List<Cmp> compares() {
        List<Cmp> out = new ArrayList<>(also.size() + 1);
        out.add(fence.compare());
        also.forEach(a -> out.add(a.compare()));
        return out;
    }

    @Override
    public List<Op> writes(String writeId, java.util.Set<String> changed) {
        List<Op> out = new ArrayList<>(also.size() + 1);
        out.add(fence.touch(writeId));
        also.forEach(a -> out.add(a.write()));
        return out;
    }

    @Override
    public List<Op> reads() {
        List<Op> out = new ArrayList<>(also.size() + 1);
        out.add(fence.read());
        also.forEach(a -> out.add(a.read()));
        return out;
    }

    @Override
    public RuntimeException failure(List<GetResponse> reads, String what) {
        List<KeyValue> entry = reads.get(0).getKvs();
        if (!fence.holds(entry.isEmpty() ? null : entry.get(0))) {
            return fence.lost(what);
        }
        for (int i = 0; i < also.size(); i++) {
            RuntimeException failure = also.get(i).failure(reads.get(i + 1).getKvs());
            if (failure != null) {
                return failure;
            }
        }
        return null;
    }

    @Override
    public CompletableFuture<Boolean> settle(String writeId) {
        return settleByMark(fence, writeId);
    }

    /**
     * Settles a fenced write by its mark. One transaction tells and settles: if the fence entry carries the write's
     * mark, it landed (true); if the entry is there without it, the entry is deleted, so that the write, fenced by it,
     * can never land (false; the caller's lock is gone). If the entry has gone already (its lease ended), the write
     * cannot land any more, and etcd's history of the entry says whether the mark was ever written. Fails when etcd
     * does not answer in time.
     */
    private CompletableFuture<Boolean> settleByMark(Fence fence, String writeId) {
        ByteSequence entry = bytes(fence.entryKey());
        CompletableFuture<TxnResponse> txn = kv.txn()
                .If(fence.compare(), new Cmp(entry, Cmp.Op.EQUAL, CmpTarget.value(fence.touchValue(writeId))))
                .Then()
                .Else(fence.read(), Op.delete(entry, io.etcd.jetcd.options.DeleteOption.DEFAULT))
                .commit();
        return Futures.bounded(txn, writeTimeout, "the settlement of a write fenced by " + fence.entryKey())
                .thenCompose(response -> {
                    if (response.isSucceeded()) {
                        return CompletableFuture.completedFuture(true);
                    }
                    List<KeyValue> seen = response.getGetResponses().get(0).getKvs();
                    return fence.holds(seen.isEmpty() ? null : seen.get(0))
                            ? CompletableFuture.completedFuture(false)
                            : markedBeforeGone(fence, writeId);
                });
    }

    /** Whether the gone fence entry carried the write's mark at some point, from etcd's history of the key. */
    private CompletableFuture<Boolean> markedBeforeGone(Fence fence, String writeId) {
        ByteSequence mark = fence.touchValue(writeId);
        return KeyHistory.first(watches, bytes(fence.entryKey()), fence.createRevision(), event -> {
            if (event.getEventType() == WatchEvent.EventType.DELETE) {
                return Optional.of(false); // the entry's end: no mark before it
            }
            return event.getKeyValue().getValue().equals(mark) ? Optional.of(true) : Optional.empty();
        }, writeTimeout, "a read of the history of " + fence.entryKey());
    }
}
