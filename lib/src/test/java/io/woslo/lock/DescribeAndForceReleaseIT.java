package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link RwLocks#describe} shows a queue as etcd holds it (holders, then waiters in queue order, each with its lease
 * time left), and {@link RwLocks#forceRelease} deletes exactly one entry, after which the queue moves on.
 */
@WithEtcd(members = 1)
class DescribeAndForceReleaseIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Test
    void aFreeLockIsDescribedAsNoneWithEmptyLists(Client client) {
        assertThat(locks(client).describe("free")).isEqualTo(new LockDescription("free", LockMode.NONE, List.of(),
                List.of()));
    }

    @Test
    void holdersAndWaitersAreDescribedInQueueOrderAndAForcedReleaseLetsTheWriterIn(Client client) throws Exception {
        RwLocks locks = locks(client);
        DistributedLock reader = locks.readLock("a/b", 1, LEASE);
        reader.lock();
        DistributedLock writer = locks.writeLock("a/b", 2, LEASE);
        CompletableFuture<Boolean> writing = writer.tryLockAsync(TestTimeouts.step());
        awaitWaiting(locks, "a/b", 1);

        LockDescription queue = locks.describe("a/b");
        assertThat(queue.mode()).isEqualTo(LockMode.READ);
        assertThat(queue.holders()).singleElement().satisfies(entry -> {
            assertThat(entry.owner()).isEqualTo(1L);
            assertThat(entry.mode()).isEqualTo(LockMode.READ);
            assertThat(entry.entry()).startsWith("r-");
            assertThat(entry.leaseLeftSeconds()).isBetween(1L, 30L);
        });
        assertThat(queue.waiters()).singleElement().satisfies(entry -> {
            assertThat(entry.owner()).isEqualTo(2L);
            assertThat(entry.mode()).isEqualTo(LockMode.WRITE);
            assertThat(entry.revision()).isGreaterThan(queue.holders().get(0).revision());
        });
        assertThat(rawKeys(client, "a%2Fb")).containsExactly(ns + "/locks/a%2Fb/" + queue.holders().get(0).entry(),
                ns + "/locks/a%2Fb/" + queue.waiters().get(0).entry());

        assertThatThrownBy(() -> locks.forceRelease("a/b", "x/" + queue.holders().get(0).entry()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'/'");
        assertThat(locks.forceRelease("a", queue.holders().get(0).entry())).as("another lock's name").isFalse();
        assertThat(rawKeys(client, "a%2Fb")).hasSize(2);

        assertThat(locks.forceRelease("a/b", queue.holders().get(0).entry())).isTrue();
        assertThat(writing.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        reader.lost().get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(locks.forceRelease("a/b", queue.holders().get(0).entry())).as("already gone").isFalse();
        assertThat(locks.describe("a/b").holders()).extracting(LockEntry::owner).containsExactly(2L);
        writer.unlock();
        assertThat(locks.describe("a/b").mode()).isEqualTo(LockMode.NONE);
    }
}
