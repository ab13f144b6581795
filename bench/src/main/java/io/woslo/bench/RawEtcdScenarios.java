package io.woslo.bench;

import static io.woslo.bench.BenchEtcd.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The baselines: what etcd does through jetcd without WOSLO. */
final class RawEtcdScenarios {
    /** About the size of a WOSLO counter value. */
    private static final ByteSequence VALUE = bytes("{\"used\":12345,\"quota\":1000000,\"refreshedAt\":1700000000000}");
    private static final long CAS_GIVE_UP_NANOS = 10_000_000_000L;

    private RawEtcdScenarios() {
    }

    /** Puts of distinct keys: the ceiling every other figure is divided by. */
    static Scenario put(BenchEtcd etcd) {
        return new Scenario(ScenarioNames.ETCD_PUT, "raw jetcd put of a distinct key (the ceiling)", false,
                inFlight -> {
            String prefix = etcd.freshPrefix(ScenarioNames.ETCD_PUT);
            KV kv = etcd.shared().getKVClient();
            Operation op = seq -> kv.put(bytes(prefix + "/" + seq), VALUE).thenApply(r -> 0);
            return Workload.of(op, () -> etcd.deletePrefix(prefix));
        });
    }

    /**
     * A lease grant, a put on that lease and the lease's revoke, each waiting for the one before: the least etcd work
     * one lock acquisition can cost while the lock API gives every acquisition a lease of its own (no queue read,
     * no waiting). The floor under {@code lock-*}.
     */
    static Scenario leaseCycle(BenchEtcd etcd) {
        return new Scenario(ScenarioNames.ETCD_LEASE_CYCLE,
                "raw lease grant + put on it + revoke (the floor of one lock acquisition)", false, inFlight -> {
            String prefix = etcd.freshPrefix(ScenarioNames.ETCD_LEASE_CYCLE);
            io.etcd.jetcd.Lease leases = etcd.shared().getLeaseClient();
            KV kv = etcd.shared().getKVClient();
            Operation op = seq -> leases.grant(30).thenCompose(grant -> kv
                    .put(bytes(prefix + "/" + seq), VALUE, PutOption.builder().withLeaseId(grant.getID()).build())
                    .thenCompose(put -> leases.revoke(grant.getID())))
                    .thenApply(r -> 0);
            return Workload.of(op, () -> etcd.deletePrefix(prefix));
        });
    }

    /** Compare-and-swap increments of one key: read, transaction comparing the mod revision, retry on failure. */
    static Scenario casHot(BenchEtcd etcd) {
        return new Scenario(ScenarioNames.ETCD_CAS_HOT,
                "raw compare-and-swap increment of ONE key, retried at once on conflict", true, inFlight -> {
            String prefix = etcd.freshPrefix(ScenarioNames.ETCD_CAS_HOT);
            ByteSequence key = bytes(prefix + "/counter");
            KV kv = etcd.shared().getKVClient();
            kv.put(key, bytes("0")).get(BenchEtcd.HOUSEKEEPING_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            Operation op = seq -> kv.get(key).thenCompose(read -> increment(kv, key, only(read), 0,
                    System.nanoTime() + CAS_GIVE_UP_NANOS));
            return Workload.of(op, () -> etcd.deletePrefix(prefix));
        });
    }

    private static CompletableFuture<Integer> increment(KV kv, ByteSequence key, KeyValue current, int retries,
                                                        long giveUpAt) {
        long next = Long.parseLong(current.getValue().toString(StandardCharsets.UTF_8)) + 1;
        return kv.txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(current.getModRevision())))
                .Then(Op.put(key, bytes(Long.toString(next)), PutOption.DEFAULT))
                .Else(Op.get(key, GetOption.DEFAULT))
                .commit()
                .thenCompose(txn -> {
                    if (txn.isSucceeded()) {
                        return CompletableFuture.completedFuture(retries);
                    }
                    if (System.nanoTime() > giveUpAt) {
                        return CompletableFuture.failedFuture(new IllegalStateException(
                                "compare-and-swap gave up after " + retries + " retries"));
                    }
                    return increment(kv, key, only(txn.getGetResponses().get(0)), retries + 1, giveUpAt);
                });
    }

    private static KeyValue only(GetResponse response) {
        if (response.getKvs().isEmpty()) {
            throw new IllegalStateException("the benchmark's counter key is missing");
        }
        return response.getKvs().get(0);
    }
}
