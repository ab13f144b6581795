package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Fencing tokens: the etcd revision of each acquisition, strictly increasing from one write hold to the next. */
@WithEtcd(members = 1)
class FencingTokenIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Test
    void tokensStrictlyIncreaseOverManyWriteAcquisitionsFromSeveralClients(EtcdCluster etcd) throws Exception {
        int threads = 6;
        int perThread = 40;
        List<RwLocks> instances = List.of(locks(etcd.newClient()), locks(etcd.newClient()), locks(etcd.newClient()));
        List<Long> tokensInAcquisitionOrder = Collections.synchronizedList(new ArrayList<>());

        List<CompletableFuture<Void>> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            DistributedLock lock = instances.get(t % instances.size()).writeLock("fenced", t, LEASE);
            workers.add(CompletableFuture.runAsync(() -> {
                for (int i = 0; i < perThread; i++) {
                    lock.lock();
                    try {
                        tokensInAcquisitionOrder.add(lock.fencingToken()); // under the lock: list order = hold order
                    } finally {
                        lock.unlock();
                    }
                }
            }));
        }
        CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new))
                .get(TestTimeouts.scaled(Duration.ofSeconds(60)).toMillis(), TimeUnit.MILLISECONDS);

        List<Long> tokens = List.copyOf(tokensInAcquisitionOrder);
        assertThat(tokens).hasSize(threads * perThread);
        for (int i = 1; i < tokens.size(); i++) {
            assertThat(tokens.get(i)).as("token %d after %d", i, tokens.get(i - 1)).isGreaterThan(tokens.get(i - 1));
        }
    }

    @Test
    void theTokenIsTheCreateRevisionOfTheHoldersEtcdKey(Client client) throws Exception {
        DistributedLock lock = locks(client).writeLock("revision", 1, LEASE);
        lock.lock();

        long token = lock.fencingToken();

        assertThat(rawEntries(client, "revision")).singleElement()
                .satisfies(kv -> assertThat(kv.getCreateRevision()).isEqualTo(token));
        lock.unlock();
    }

    @Test
    void askingForTheTokenOfALockNotHeldIsAnError(Client client) {
        DistributedLock lock = locks(client).writeLock("not-held", 1, LEASE);

        assertThatThrownBy(lock::fencingToken)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not-held");
    }
}
