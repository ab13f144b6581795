package io.woslo.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.lock.DistributedLock;
import io.woslo.lock.LockTimeoutException;
import io.woslo.lock.LockUnavailableException;
import io.woslo.lock.RwLocks;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Readers and writers contending for one lock through several {@link RwLocks}, each on its own jetcd client. Each
 * holder records its hold as an interval of a shared sequence (taken after {@code lock()} returned and before
 * {@code unlock()} is called), with its mode, fencing token and whether its lease was surely still valid at the end.
 */
final class LockContention extends Workload {
    static final String KEY = "contended";
    static final Duration LEASE = Duration.ofSeconds(3);
    /** A hold that ended later than this before its lease could have ended is left out of the safety check. */
    private static final Duration LEASE_MARGIN = Duration.ofMillis(500);

    private final List<RwLocks> locks = new ArrayList<>();
    private final AtomicLong sequence = new AtomicLong();
    private final AtomicLong owners = new AtomicLong();
    private final ConcurrentLinkedQueue<Hold> holds = new ConcurrentLinkedQueue<>();

    /** One hold: {@code [start, end]} in the shared sequence. */
    record Hold(long owner, boolean write, long start, long end, long token, boolean leaseValid) {
        boolean overlaps(Hold other) {
            return start < other.end && other.start < end;
        }
    }

    private LockContention(EtcdCluster etcd, String namespace, int clients, int threads, long opsPerThread,
                           Duration timeBudget) {
        super("locks", threads, opsPerThread, timeBudget);
        for (int i = 0; i < clients; i++) {
            locks.add(RwLocks.builder(etcd.newClient()).namespace(namespace)
                    .operationTimeout(QuotaStorm.OPERATION_TIMEOUT).build());
        }
    }

    static LockContention start(EtcdCluster etcd, String namespace, int clients, int threads, long opsPerThread,
                                Duration timeBudget) {
        LockContention contention = new LockContention(etcd, namespace, clients, threads, opsPerThread, timeBudget);
        contention.start();
        return contention;
    }

    @Override
    protected void step(ThreadLocalRandom random) {
        RwLocks on = locks.get(random.nextInt(locks.size()));
        boolean write = random.nextInt(100) < 30;
        long owner = owners.incrementAndGet();
        DistributedLock lock = write ? on.writeLock(KEY, owner, LEASE) : on.readLock(KEY, owner, LEASE);
        long called = System.nanoTime();
        try {
            lock.lock();
        } catch (LockTimeoutException e) {
            outcome("timedOut");
            return;
        } catch (LockUnavailableException e) {
            unavailable("lockUnavailable");
            return;
        }
        long start = sequence.incrementAndGet();
        long token = lock.fencingToken();
        work(random);
        long end = sequence.incrementAndGet();
        boolean leaseValid = System.nanoTime() - called < LEASE.minus(LEASE_MARGIN).toNanos();
        holds.add(new Hold(owner, write, start, end, token, leaseValid));
        outcome(write ? "wrote" : "read");
        success();
        try {
            lock.unlock();
        } catch (LockUnavailableException e) {
            unavailable("unlockUnavailable"); // the key ends with its lease
        }
    }

    /** The holder's work: a few milliseconds inside the lock. */
    private static void work(ThreadLocalRandom random) {
        try {
            Thread.sleep(random.nextInt(1, 4)); // simulated work, not a wait for a condition
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops the contention and checks lock safety: no two holds with a writer among them overlap while both leases
     * were valid, write holds' fencing tokens increase in hold order, and the lock is free once the leases of failed
     * releases have run out.
     */
    void stopAndVerify(Consumer<String> log) throws Exception {
        stop();
        List<Hold> all = new ArrayList<>(holds);
        all.sort(Comparator.comparingLong(Hold::start));
        List<Hold> checked = all.stream().filter(Hold::leaseValid).toList();
        log.accept("lock outcomes " + outcomes() + "; " + checked.size() + " of " + all.size()
                + " holds ended well within their lease and are checked for overlap");
        assertThat(unexpected()).as("unexpected failures of the lock contention").isEmpty();
        assertThat(outcome("wrote", 0)).as("write holds").isPositive();
        assertThat(outcome("read", 0)).as("read holds").isPositive();
        List<String> overlaps = new ArrayList<>();
        for (int i = 0; i < checked.size(); i++) {
            Hold a = checked.get(i);
            for (int j = i + 1; j < checked.size() && checked.get(j).start() < a.end(); j++) {
                Hold b = checked.get(j);
                if ((a.write() || b.write()) && a.overlaps(b)) {
                    overlaps.add(a + " and " + b);
                }
            }
        }
        assertThat(overlaps).as("holds with a writer that overlapped").isEmpty();
        List<Long> tokens = all.stream().filter(Hold::write).map(Hold::token).toList();
        for (int i = 1; i < tokens.size(); i++) {
            assertThat(tokens.get(i)).as("fencing token of write hold %d of %d", i + 1, tokens.size())
                    .isGreaterThan(tokens.get(i - 1));
        }
        RwLocks first = locks.get(0);
        Await.until("lock '" + KEY + "' free after the leases of failed releases",
                LEASE.plus(Faults.LEASE_EXPIRY_MARGIN),
                () -> first.inspect(KEY).holders().isEmpty() && first.inspect(KEY).waiting() == 0);
    }

    List<RwLocks> locks() {
        return locks;
    }

    @Override
    public void close() {
        super.close();
        locks.forEach(RwLocks::close);
    }
}
