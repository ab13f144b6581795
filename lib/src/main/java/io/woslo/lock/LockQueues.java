package io.woslo.lock;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
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
        List<LockEntry> holders = new ArrayList<>();
        List<LockEntry> waiters = new ArrayList<>();
        for (KeyValue kv : kvs) {
            String name = layout.lockEntryName(lockKey, kv.getKey().toString(UTF_8));
            LockEntry entry = new LockEntry(name, KeyLayout.isReadEntryName(name) ? LockMode.READ : LockMode.WRITE,
                    ownerOf(kv.getValue()), kv.getCreateRevision(), kv.getLease(), left.get(kv.getLease()).join());
            boolean conflicts = !holders.isEmpty()
                    && (holders.get(0).mode() == LockMode.WRITE || entry.mode() == LockMode.WRITE);
            (waiters.isEmpty() && !conflicts ? holders : waiters).add(entry);
        }
        LockMode mode = holders.isEmpty() ? LockMode.NONE : holders.get(0).mode();
        return new LockDescription(lockKey, mode, holders, waiters);
    }

    private static Long ownerOf(ByteSequence value) {
        try {
            com.fasterxml.jackson.databind.JsonNode owner = Json.MAPPER.readTree(value.getBytes()).path("owner");
            return owner.isIntegralNumber() ? owner.asLong() : null;
        } catch (java.io.IOException | RuntimeException e) {
            return null; // not written by WOSLO
        }
    }

    private static ByteSequence bytes(String key) {
        return ByteSequence.from(key, UTF_8);
    }
}
