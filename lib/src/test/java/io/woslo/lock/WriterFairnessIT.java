package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Waiters are served in the order they asked, so readers arriving after a waiting writer cannot starve it. */
@WithEtcd(members = 1)
class WriterFairnessIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Test
    void aLaterReaderQueuesBehindAWaitingWriter(EtcdCluster etcd, Client client) throws Exception {
        RwLocks observer = locks(client);
        DistributedLock firstReader = locks(etcd.newClient()).readLock("fair", 1, LEASE);
        DistributedLock writer = locks(etcd.newClient()).writeLock("fair", 2, LEASE);
        DistributedLock laterReader = locks(etcd.newClient()).readLock("fair", 3, LEASE);

        firstReader.lock();
        CompletableFuture<Void> writerGranted = writer.lockAsync();
        awaitWaiting(observer, "fair", 1);

        boolean laterReaderGotIn = laterReader.tryLock(Duration.ZERO);
        boolean laterReaderGotInWithAWait = laterReader.tryLock(Duration.ofMillis(300));
        CompletableFuture<Void> laterReaderGranted = laterReader.lockAsync();
        LockInfo queued = awaitWaiting(observer, "fair", 2);

        assertThat(laterReaderGotIn).as("tryLock(0) of a reader behind a waiting writer").isFalse();
        assertThat(laterReaderGotInWithAWait).as("tryLock(300 ms) of a reader behind a waiting writer").isFalse();
        assertThat(queued.mode()).isEqualTo(LockMode.READ);
        assertThat(queued.holders()).containsExactly(1L);
        assertThat(writerGranted).isNotDone();
        assertThat(laterReaderGranted).isNotDone();

        firstReader.unlock();
        await(writerGranted);
        LockInfo writing = observer.inspect("fair");

        assertThat(writing.mode()).isEqualTo(LockMode.WRITE);
        assertThat(writing.holders()).containsExactly(2L);
        assertThat(writing.waiting()).isEqualTo(1);
        assertThat(laterReaderGranted).as("the later reader while the writer holds").isNotDone();

        long writerToken = writer.fencingToken();
        writer.unlock();
        await(laterReaderGranted);
        LockInfo readingAgain = observer.inspect("fair");

        assertThat(readingAgain.mode()).isEqualTo(LockMode.READ);
        assertThat(readingAgain.holders()).containsExactly(3L);
        assertThat(laterReader.fencingToken()).isGreaterThan(writerToken);
        laterReader.unlock();
    }

    @Test
    void waitingWritersAreServedInTheOrderTheyAsked(EtcdCluster etcd, Client client) throws Exception {
        RwLocks observer = locks(client);
        DistributedLock holder = locks(etcd.newClient()).writeLock("order", 1, LEASE);
        DistributedLock second = locks(etcd.newClient()).writeLock("order", 2, LEASE);
        DistributedLock third = locks(etcd.newClient()).writeLock("order", 3, LEASE);

        holder.lock();
        CompletableFuture<Void> secondGranted = second.lockAsync();
        awaitWaiting(observer, "order", 1);
        CompletableFuture<Void> thirdGranted = third.lockAsync();
        awaitWaiting(observer, "order", 2);

        holder.unlock();
        await(secondGranted);
        boolean thirdJumpedTheQueue = thirdGranted.isDone();
        LockInfo afterFirstHandOver = observer.inspect("order");
        second.unlock();
        await(thirdGranted);

        assertThat(thirdJumpedTheQueue).isFalse();
        assertThat(afterFirstHandOver.holders()).containsExactly(2L);
        assertThat(afterFirstHandOver.waiting()).isEqualTo(1);
        assertThat(observer.inspect("order").holders()).containsExactly(3L);
        third.unlock();
    }
}
