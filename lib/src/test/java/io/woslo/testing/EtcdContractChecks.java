package io.woslo.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The etcd behaviours WOSLO builds on, checked against whatever cluster the subclass's {@link WithEtcd} starts:
 * if the harness or the etcd it installs got one of these wrong, everything above would be built on sand.
 */
abstract class EtcdContractChecks {

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, UTF_8);
    }

    static String uniqueKey(String what) {
        return "/harness-test/" + what + "/" + UUID.randomUUID();
    }

    @Test
    void putThenGetReturnsTheValue(Client client) throws Exception {
        ByteSequence key = bytes(uniqueKey("put"));
        client.getKVClient().put(key, bytes("v1")).get(10, TimeUnit.SECONDS);

        GetResponse got = client.getKVClient().get(key).get(10, TimeUnit.SECONDS);

        assertThat(got.getKvs()).hasSize(1);
        assertThat(got.getKvs().get(0).getValue().toString(UTF_8)).isEqualTo("v1");
    }

    @Test
    void compareAndSwapSucceedsOnTheCurrentRevisionAndFailsOnAStaleOne(Client client) throws Exception {
        KV kv = client.getKVClient();
        ByteSequence key = bytes(uniqueKey("cas"));
        long firstRevision = kv.put(key, bytes("1")).get(10, TimeUnit.SECONDS).getHeader().getRevision();

        TxnResponse swapped = kv.txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(firstRevision)))
                .Then(Op.put(key, bytes("2"), PutOption.DEFAULT))
                .commit().get(10, TimeUnit.SECONDS);
        TxnResponse stale = kv.txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(firstRevision)))
                .Then(Op.put(key, bytes("3"), PutOption.DEFAULT))
                .commit().get(10, TimeUnit.SECONDS);

        assertThat(swapped.isSucceeded()).isTrue();
        assertThat(stale.isSucceeded()).isFalse();
        assertThat(kv.get(key).get(10, TimeUnit.SECONDS).getKvs().get(0).getValue().toString(UTF_8)).isEqualTo("2");
    }

    @Test
    void aKeyOnALeaseDisappearsWhenTheLeaseEnds(Client client) throws Exception {
        ByteSequence key = bytes(uniqueKey("lease"));
        long leaseId = client.getLeaseClient().grant(1).get(10, TimeUnit.SECONDS).getID();
        CompletableFuture<WatchEvent.EventType> deleted = new CompletableFuture<>();
        try (Watch.Watcher watcher = client.getWatchClient().watch(key, WatchOption.DEFAULT,
                response -> response.getEvents().stream()
                        .filter(e -> e.getEventType() == WatchEvent.EventType.DELETE)
                        .findFirst()
                        .ifPresent(e -> deleted.complete(e.getEventType())))) {
            client.getKVClient().put(key, bytes("held"), PutOption.builder().withLeaseId(leaseId).build())
                    .get(10, TimeUnit.SECONDS);

            assertThat(deleted.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS))
                    .isEqualTo(WatchEvent.EventType.DELETE);
        }
        assertThat(client.getKVClient().get(key).get(10, TimeUnit.SECONDS).getKvs()).isEmpty();
    }

    @Test
    void aWatchSeesADelete(Client client) throws Exception {
        ByteSequence key = bytes(uniqueKey("watch"));
        long written = client.getKVClient().put(key, bytes("x")).get(10, TimeUnit.SECONDS).getHeader().getRevision();
        CompletableFuture<String> deletedKey = new CompletableFuture<>();
        // From the put's next revision: the watch is registered asynchronously, and must not miss a delete that
        // reaches etcd before it does.
        WatchOption fromPut = WatchOption.builder().withRevision(written + 1).build();
        try (Watch.Watcher watcher = client.getWatchClient().watch(key, fromPut,
                response -> response.getEvents().stream()
                        .filter(e -> e.getEventType() == WatchEvent.EventType.DELETE)
                        .findFirst()
                        .ifPresent(e -> deletedKey.complete(e.getKeyValue().getKey().toString(UTF_8))))) {
            client.getKVClient().delete(key).get(10, TimeUnit.SECONDS);

            assertThat(deletedKey.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS))
                    .isEqualTo(key.toString(UTF_8));
        }
    }
}
