package io.woslo.fault;

import io.woslo.testing.TestTimeouts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded workload: {@code threads} threads each run {@link #step} until {@link #stop()}, their operation budget or
 * the time budget runs out. Counts outcomes by name, collects anything unexpected, and lets a test wait for the
 * next successes (a monitor notified on every success, no polling).
 */
abstract class Workload implements AutoCloseable {
    /** Pause after a call failed as unavailable, so a thread does not spin on fast failures during an outage. */
    private static final long UNAVAILABLE_PACING_MILLIS = 100;

    private final String name;
    private final int threads;
    private final long opsPerThread;
    private final Duration timeBudget;
    private final Map<String, AtomicLong> outcomes = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
    private final Object successMonitor = new Object();
    private long successes; // guarded by successMonitor
    private volatile boolean stopping;
    private ExecutorService pool;
    private final List<Future<?>> workers = new ArrayList<>();

    Workload(String name, int threads, long opsPerThread, Duration timeBudget) {
        this.name = name;
        this.threads = threads;
        this.opsPerThread = opsPerThread;
        this.timeBudget = timeBudget;
    }

    /** One operation of the workload. Throwing anything counts as unexpected. */
    protected abstract void step(ThreadLocalRandom random);

    final void start() {
        AtomicInteger n = new AtomicInteger();
        pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        long deadline = System.nanoTime() + timeBudget.toNanos();
        for (int i = 0; i < threads; i++) {
            workers.add(pool.submit(() -> {
                for (long op = 0; op < opsPerThread && !stopping && System.nanoTime() < deadline; op++) {
                    try {
                        step(ThreadLocalRandom.current());
                    } catch (Throwable e) {
                        unexpected.add(e);
                    }
                }
            }));
        }
    }

    /** Asks the threads to finish their current operation and waits until they have (within the step bound). */
    final void stop() throws Exception {
        stopping = true;
        for (Future<?> worker : workers) {
            worker.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        }
        pool.shutdown();
    }

    /**
     * Waits until every thread has run out of its operation or time budget, at most {@code bound}, without asking
     * them to stop; false when one was still running at the bound.
     */
    final boolean awaitFinished(Duration bound) throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        for (Future<?> worker : workers) {
            try {
                worker.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                return false;
            } catch (java.util.concurrent.ExecutionException e) {
                unexpected.add(e.getCause());
            }
        }
        pool.shutdown();
        return true;
    }

    @Override
    public void close() {
        stopping = true;
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    protected final void success() {
        synchronized (successMonitor) {
            successes++;
            successMonitor.notifyAll();
        }
    }

    protected final void outcome(String what) {
        outcomes.computeIfAbsent(what, k -> new AtomicLong()).incrementAndGet();
    }

    protected final void unavailable(String what) {
        outcome(what);
        try {
            Thread.sleep(UNAVAILABLE_PACING_MILLIS); // pacing of the workload, not a wait for a condition
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    final long successes() {
        synchronized (successMonitor) {
            return successes;
        }
    }

    /**
     * Waits until {@code more} successes beyond the count at the call have happened, at most {@code bound}, and
     * returns how long it took; fails when the bound passes first (the liveness check).
     */
    final Duration awaitMoreSuccesses(long more, Duration bound) throws InterruptedException {
        long started = System.nanoTime();
        long deadline = started + bound.toNanos();
        synchronized (successMonitor) {
            long target = successes + more;
            while (successes < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError(name + ": only " + (successes - target + more) + " of " + more
                            + " successes within " + bound + "; outcomes so far " + outcomes());
                }
                TimeUnit.NANOSECONDS.timedWait(successMonitor, left);
            }
        }
        return Duration.ofNanos(System.nanoTime() - started);
    }

    final Map<String, Long> outcomes() {
        Map<String, Long> out = new TreeMap<>();
        outcomes.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    final long outcome(String what, long ifAbsent) {
        AtomicLong n = outcomes.get(what);
        return n == null ? ifAbsent : n.get();
    }

    final List<Throwable> unexpected() {
        return List.copyOf(unexpected);
    }
}
