package io.woslo.lock;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.woslo.testing.TestTimeouts;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;

/**
 * What the lock integration tests share: a namespace of their own per test method, {@link RwLocks} instances that
 * are closed after the test, raw reads of a lock's etcd keys, and bounded waits.
 */
abstract class LockItSupport {
    /** The namespace of the running test: {@code /it/<method>-<random>}, so no two tests share a key. */
    protected String ns;

    private final List<RwLocks> opened = new ArrayList<>();

    @BeforeEach
    void chooseNamespace(TestInfo test) {
        ns = "/it/" + test.getTestMethod().orElseThrow().getName() + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @AfterEach
    void closeLocks() {
        opened.forEach(RwLocks::close);
        opened.clear();
    }

    /** An {@link RwLocks} on {@code client} in this test's namespace. */
    protected RwLocks locks(Client client) {
        return locks(client, builder -> builder);
    }

    /** An {@link RwLocks} on {@code client} in this test's namespace, with further settings. */
    protected RwLocks locks(Client client, UnaryOperator<RwLocks.Builder> settings) {
        RwLocks locks = settings.apply(RwLocks.builder(client).namespace(ns)).build();
        opened.add(locks);
        return locks;
    }

    /**
     * The etcd keys of one lock, read with plain jetcd, bypassing the library: everything under
     * {@code <ns>/locks/<escapedKey>/}. {@code escapedKey} is written out by the test, not computed by the library.
     */
    protected List<KeyValue> rawEntries(Client client, String escapedKey) throws Exception {
        return client.getKVClient()
                .get(bytes(ns + "/locks/" + escapedKey + "/"), GetOption.builder().isPrefix(true).build())
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)
                .getKvs();
    }

    /** The names of {@link #rawEntries}, as strings. */
    protected List<String> rawKeys(Client client, String escapedKey) throws Exception {
        return rawEntries(client, escapedKey).stream().map(kv -> kv.getKey().toString(UTF_8)).toList();
    }

    /** What etcd says about the lease of one lock entry: {@code getGrantedTTL()} and the remaining {@code getTTL()}. */
    protected static LeaseTimeToLiveResponse ttlOf(Client client, KeyValue entry) throws Exception {
        return client.getLeaseClient().timeToLive(entry.getLease(), LeaseOption.DEFAULT)
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Waits until etcd shows {@code count} acquisitions queued behind the holders of {@code key}. A queued entry is
     * etcd state with no event in the public API, so this polls {@link RwLocks#inspect} briefly, within the step
     * bound.
     */
    protected static LockInfo awaitWaiting(RwLocks locks, String key, int count) {
        LockInfo[] last = {null};
        io.woslo.testing.Await.until(count + " waiting on '" + key + "'", () -> {
            last[0] = locks.inspect(key);
            return last[0].waiting() == count;
        });
        return last[0];
    }

    /** The value of {@code future}, waiting at most the step bound. */
    protected static <T> T await(CompletableFuture<T> future) throws Exception {
        return future.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
    }

    protected static ByteSequence bytes(String s) {
        return ByteSequence.from(s, UTF_8);
    }
}
