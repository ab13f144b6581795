package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Many threads over several {@link RwLocks} instances, each on its own etcd client, race for one lock; the
 * invariants are checked after the race.
 */
@WithEtcd(members = 1)
class MutualExclusionIT extends LockItSupport {
    private static final Logger LOG = LoggerFactory.getLogger(MutualExclusionIT.class);
    private static final int THREADS = 8;
    private static final int INSTANCES = 3;
    private static final Duration LEASE = Duration.ofSeconds(30);

    private final List<RwLocks> instances = new ArrayList<>();
    private ExecutorService pool;

    @BeforeEach
    void startInstances(EtcdCluster etcd) {
        for (int i = 0; i < INSTANCES; i++) {
            instances.add(locks(etcd.newClient()));
        }
        pool = Executors.newFixedThreadPool(THREADS);
    }

    @AfterEach
    void stopPool() {
        pool.shutdownNow();
    }

    /** Deliberately not atomic and not volatile: only the lock keeps increments from being lost. */
    private static final class Counter {
        long value;

        void increment() {
            long read = value;
            Thread.yield(); // widen the read-modify-write window so an unprotected race would lose updates
            value = read + 1;
        }
    }

    @Test
    void aPlainCounterIncrementedUnderTheWriteLockIsExact() throws Exception {
        int perThread = 250;
        Counter counter = new Counter();

        long started = System.nanoTime();
        runOnAllThreads(thread -> {
            DistributedLock lock = instance(thread).writeLock("counter", thread, LEASE);
            for (int i = 0; i < perThread; i++) {
                lock.lock();
                try {
                    counter.increment();
                } finally {
                    lock.unlock();
                }
            }
        });
        LOG.info("{} write acquisitions took {} ms", THREADS * perThread,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));

        assertThat(counter.value).isEqualTo((long) THREADS * perThread);
        assertThat(instances.get(0).inspect("counter").mode()).isEqualTo(LockMode.NONE);
    }

    /** One holder's time under the lock, as two numbers of one JVM-wide sequence. */
    private record Interval(LockMode mode, long thread, long start, long end) {
        boolean overlaps(Interval other) {
            return start < other.end && other.start < end;
        }
    }

    @Test
    void noWriteIntervalOverlapsAnyOtherHoldersInterval() throws Exception {
        int perThread = 60;
        AtomicLong sequence = new AtomicLong();
        List<Interval> intervals = Collections.synchronizedList(new ArrayList<>());

        runOnAllThreads(thread -> {
            Random random = new Random(thread);
            for (int i = 0; i < perThread; i++) {
                boolean write = random.nextInt(3) == 0;
                DistributedLock lock = write
                        ? instance(thread).writeLock("intervals", thread, LEASE)
                        : instance(thread).readLock("intervals", thread, LEASE);
                lock.lock();
                long start = sequence.incrementAndGet();
                Thread.yield();
                long end = sequence.incrementAndGet();
                lock.unlock();
                intervals.add(new Interval(lock.mode(), thread, start, end));
            }
        });

        List<Interval> all = List.copyOf(intervals);
        assertThat(all).hasSize(THREADS * perThread);
        assertThat(all).anyMatch(i -> i.mode() == LockMode.READ).anyMatch(i -> i.mode() == LockMode.WRITE);
        List<String> overlaps = new ArrayList<>();
        for (Interval write : all) {
            for (Interval other : all) {
                if (write.mode() == LockMode.WRITE && other != write && write.overlaps(other)) {
                    overlaps.add(write + " overlaps " + other);
                }
            }
        }
        assertThat(overlaps).isEmpty();
    }

    private RwLocks instance(long thread) {
        return instances.get((int) (thread % INSTANCES));
    }

    private interface Worker {
        void run(long thread) throws Exception;
    }

    private void runOnAllThreads(Worker worker) throws Exception {
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            long thread = t + 1;
            done.add(CompletableFuture.runAsync(() -> {
                try {
                    worker.run(thread);
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            }, pool));
        }
        CompletableFuture.allOf(done.toArray(CompletableFuture[]::new))
                .get(TestTimeouts.scaled(Duration.ofSeconds(90)).toMillis(), TimeUnit.MILLISECONDS);
    }
}
