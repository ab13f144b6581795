package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A blocking lock call inside a continuation of an asynchronous one must not hang: the futures a caller gets
 * complete on a callback pool, never on a thread the engine needs (jetcd's executor, the engine's timer).
 */
@WithEtcd(members = 1)
class NestedBlockingLockIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Test
    void continuationsOfLockFuturesRunOffEngineThreadsAndMayBlock(EtcdCluster etcd, Client client) throws Exception {
        RwLocks locks = locks(client);
        RwLocks other = locks(etcd.newClient());
        List<CompletableFuture<Long>> nested = new ArrayList<>();
        List<String> continuationThreads = java.util.Collections.synchronizedList(new ArrayList<>());
        String testThread = Thread.currentThread().getName();
        for (int i = 0; i < 8; i++) {
            DistributedLock outer = locks.writeLock("outer", i, LEASE);
            long owner = i;
            // Contended: most grants come from a watch event or a local hand-off, completed on engine threads.
            nested.add(outer.lockAsync().thenApply(v -> {
                continuationThreads.add(Thread.currentThread().getName());
                DistributedLock inner = other.writeLock("inner", owner, LEASE);
                inner.lock();
                try {
                    return inner.fencingToken();
                } finally {
                    inner.unlock();
                    outer.unlock();
                }
            }));
        }

        CompletableFuture.allOf(nested.toArray(CompletableFuture[]::new))
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(nested.stream().map(CompletableFuture::join).distinct()).hasSize(8);
        assertThat(continuationThreads).as("continuations run on the callback pool (or the caller's thread when the"
                + " future was already done), never on an engine thread")
                .allMatch(name -> name.startsWith("woslo-lock-callback") || name.equals(testThread));
        assertThat(locks.inspect("outer").mode()).isEqualTo(LockMode.NONE);
    }
}
