package io.woslo.internal;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A lock's queue as etcd holds it: the entries under {@code <ns>/locks/<key>/}, each on a lease, in create-revision
 * order. Two reads and one write: the enqueue (one transaction that puts the entry and reads the queue, so the
 * entry's create revision is its place), the inspection's read with values, and a read of one entry.
 */
final class LockQueue {
    private static final GetOption KEY_ONLY = GetOption.builder().withKeysOnly(true).build();

    private final KV kv;
    private final KeyLayout layout;
    private final Duration opTimeout;

    LockQueue(KV kv, KeyLayout layout, Duration opTimeout) {
        this.kv = kv;
        this.layout = layout;
        this.opTimeout = opTimeout;
    }

    /**
     * Puts {@code entryKey} on {@code leaseId} (with {@code request}'s guard) and reads the queue, in one
     * transaction. Completes with the queue, including the new entry, or empty when the guard's compares failed
     * (then nothing was written).
     */
    CompletableFuture<Optional<List<QueueEntry>>> enqueue(LockRequest request, String entryKey, long leaseId) {
        String prefix = layout.lockPrefix(request.lockKey());
        ByteSequence key = bytes(entryKey);
        List<Cmp> compares = new ArrayList<>(request.guard().compares());
        compares.add(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)));
        List<Op> ops = new ArrayList<>(request.guard().writes());
        ops.add(Op.put(key, LockEntryValue.of(request.policy(), request.ownerId(), request.leaseTime()),
                PutOption.builder().withLeaseId(leaseId).build()));
        ops.add(Op.get(bytes(prefix), range(true)));
        return Futures.bounded(kv.txn().If(compares.toArray(Cmp[]::new)).Then(ops.toArray(Op[]::new)).commit(),
                        opTimeout, "the enqueue of lock '" + request.lockKey() + "'")
                .thenApply(response -> response.isSucceeded()
                        ? Optional.of(entries(prefix, response.getGetResponses().get(0)))
                        : Optional.empty());
    }

    /** The queue of {@code lockKey}: the entries in create-revision order with their stored values. */
    CompletableFuture<List<Map.Entry<QueueEntry, ByteSequence>>> read(String lockKey) {
        String prefix = layout.lockPrefix(lockKey);
        return Futures.bounded(kv.get(bytes(prefix), range(false)), opTimeout, "a lock inspection")
                .thenApply(response -> {
                    List<Map.Entry<QueueEntry, ByteSequence>> out = new ArrayList<>();
                    for (KeyValue entry : response.getKvs()) {
                        out.add(Map.entry(toEntry(prefix, entry), entry.getValue()));
                    }
                    return out;
                });
    }

    /** A keys-only read of {@code entryKey}, an entry of lock {@code lockKey}. */
    CompletableFuture<GetResponse> readEntry(String lockKey, String entryKey) {
        return Futures.bounded(kv.get(bytes(entryKey), KEY_ONLY), opTimeout, "a read of lock '" + lockKey + "'");
    }

    private static List<QueueEntry> entries(String prefix, GetResponse response) {
        List<QueueEntry> out = new ArrayList<>(response.getKvs().size());
        for (KeyValue entry : response.getKvs()) {
            out.add(toEntry(prefix, entry));
        }
        return out;
    }

    private static GetOption range(boolean keysOnly) {
        return GetOption.builder()
                .isPrefix(true)
                .withKeysOnly(keysOnly)
                .withSortField(GetOption.SortTarget.CREATE)
                .withSortOrder(GetOption.SortOrder.ASCEND)
                .build();
    }

    private static QueueEntry toEntry(String prefix, KeyValue entry) {
        String key = Json.string(entry.getKey());
        return new QueueEntry(key, KeyLayout.isWriteEntry(prefix, key), entry.getCreateRevision());
    }
}
