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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Readers share the lock: several hold it at the same moment, and a writer waits for all of them. */
@WithEtcd(members = 1)
class SharedReadersIT extends LockItSupport {
    private static final int READERS = 4;
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Test
    void severalReadersOnSeparateClientsHoldTheLockAtTheSameMoment(EtcdCluster etcd, Client client) throws Exception {
        CountDownLatch allHold = new CountDownLatch(READERS);
        CountDownLatch release = new CountDownLatch(1);
        List<CompletableFuture<Void>> readers = new ArrayList<>();
        for (int owner = 1; owner <= READERS; owner++) {
            DistributedLock read = locks(etcd.newClient()).readLock("shared", owner, LEASE);
            readers.add(CompletableFuture.runAsync(() -> holdUntil(read, allHold, release)));
        }

        // Only opens once every reader holds the lock: none of them unlocks before the release latch.
        boolean everyoneHolds = allHold.await(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        LockInfo info = locks(client).inspect("shared");
        List<String> keys = rawKeys(client, "shared");
        release.countDown();

        assertThat(everyoneHolds).as("all %d readers held the lock together", READERS).isTrue();
        CompletableFuture.allOf(readers.toArray(CompletableFuture[]::new))
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(info.mode()).isEqualTo(LockMode.READ);
        assertThat(info.holders()).containsExactlyInAnyOrder(1L, 2L, 3L, 4L);
        assertThat(info.waiting()).isZero();
        assertThat(keys).hasSize(READERS);
        assertThat(rawKeys(client, "shared")).isEmpty();
    }

    @Test
    void aWriterWaitsUntilTheLastOfSeveralReadersUnlocks(EtcdCluster etcd, Client client) throws Exception {
        RwLocks locks = locks(client);
        List<DistributedLock> reads = new ArrayList<>();
        for (int owner = 1; owner <= 3; owner++) {
            DistributedLock read = locks(etcd.newClient()).readLock("drain", owner, LEASE);
            read.lock();
            reads.add(read);
        }
        CompletableFuture<Void> writer = locks.writeLock("drain", 9, LEASE).lockAsync();
        awaitWaiting(locks, "drain", 1);

        reads.get(0).unlock();
        reads.get(2).unlock();
        LockInfo oneReaderLeft = locks.inspect("drain"); // unlock returns once etcd has removed the key
        boolean writerGotInBetween = writer.isDone();
        reads.get(1).unlock();
        await(writer);

        assertThat(oneReaderLeft.mode()).isEqualTo(LockMode.READ);
        assertThat(oneReaderLeft.holders()).containsExactly(2L);
        assertThat(writerGotInBetween).as("writer acquired while a reader still held").isFalse();
        assertThat(locks.inspect("drain").holders()).containsExactly(9L);
    }

    private static void holdUntil(DistributedLock lock, CountDownLatch holding, CountDownLatch release) {
        lock.lock();
        try {
            holding.countDown();
            if (!release.await(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("never released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } finally {
            lock.unlock();
        }
    }
}
