package io.woslo.lock;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.woslo.internal.Futures;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LockEntryValue;
import io.woslo.internal.LockPolicy;
import io.woslo.internal.QueueEntry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The operator's reads and repairs of lock queues: a description of one queue with each entry's lease time left,
 * and the deletion of one entry. Both touch only the keys under {@code <ns>/locks/<escaped key>/}.
 */
final class LockQueues {
    private final Client client;
    private final KeyLayout layout;
    private final Duration timeout;

    LockQueues(Client client, KeyLayout layout, Duration timeout) {
        this.client = client;
        this.layout = layout;
        this.timeout = timeout;
    }

    /** One read of the queue (sorted by create revision), then one time-to-live call per distinct lease. */
    CompletableFuture<LockDescription> describe(String lockKey) {
        GetOption range = GetOption.builder().isPrefix(true)
                .withSortField(GetOption.SortTarget.CREATE).withSortOrder(GetOption.SortOrder.ASCEND).build();
        String prefix = layout.lockPrefix(lockKey);
        return Futures.bounded(client.getKVClient().get(bytes(prefix), range), timeout, "a lock description")
                .thenCompose(response -> {
                    List<KeyValue> kvs = response.getKvs();
                    Map<Long, CompletableFuture<Long>> left = new LinkedHashMap<>();
                    for (KeyValue kv : kvs) {
                        left.computeIfAbsent(kv.getLease(), this::leaseLeft);
                    }
                    return CompletableFuture.allOf(left.values().toArray(CompletableFuture[]::new))
                            .thenApply(done -> toDescription(lockKey, kvs, left));
                });
    }

    /** Deletes exactly {@code <ns>/locks/<escaped key>/<entry>}; true when it existed. */
    CompletableFuture<Boolean> forceRelease(String lockKey, String entry) {
        String key = layout.lockEntryKey(lockKey, entry);
        return Futures.bounded(client.getKVClient().delete(bytes(key)), timeout, "a forced release")
                .thenApply(response -> response.getDeleted() == 1);
    }

    private CompletableFuture<Long> leaseLeft(long leaseId) {
        if (leaseId == 0) {
            return CompletableFuture.completedFuture(-1L);
        }
        return Futures.bounded(client.getLeaseClient().timeToLive(leaseId, LeaseOption.DEFAULT), timeout,
                "a lease's time to live").thenApply(LeaseTimeToLiveResponse::getTTL)
                .thenApply(ttl -> ttl < 0 ? -1L : ttl);
    }

    private LockDescription toDescription(String lockKey, List<KeyValue> kvs, Map<Long, CompletableFuture<Long>> left) {
        String prefix = layout.lockPrefix(lockKey);
        List<QueueEntry> queue = new ArrayList<>();
        List<LockEntry> entries = new ArrayList<>();
        for (KeyValue kv : kvs) {
            String key = kv.getKey().toString(UTF_8);
            boolean write = KeyLayout.isWriteEntry(prefix, key);
            queue.add(new QueueEntry(key, write, kv.getCreateRevision()));
            entries.add(new LockEntry(layout.lockEntryName(lockKey, key), write ? LockMode.WRITE : LockMode.READ,
                    LockEntryValue.ownerOrNull(kv.getValue()), kv.getCreateRevision(), kv.getLease(),
                    left.get(kv.getLease()).join()));
        }
        int held = LockPolicy.holders(queue);
        LockMode mode = held == 0 ? LockMode.NONE : entries.get(0).mode();
        return new LockDescription(lockKey, mode, entries.subList(0, held), entries.subList(held, entries.size()));
    }

    private static ByteSequence bytes(String key) {
        return ByteSequence.from(key, UTF_8);
    }
}
