package io.woslo.bench;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A closed loop: keeps exactly {@code inFlight} operations running, starting the next one when one completes, until
 * the time window ends or {@code maxOps} operations were started. Then it waits (at most {@code drainLimit}) for the
 * operations still in flight.
 *
 * <p>Throughput counts successful operations completed inside the window. Latencies are those of every successful
 * operation started inside the window, including those completed while draining, so slow tails are not dropped.
 * Failed operations are counted apart and not in the latencies.
 */
final class ClosedLoop {
    /** What one measured phase saw. */
    record Result(long completedInWindow, long errors, long retries, double windowSeconds, long[] sortedLatencyNanos,
                  boolean drained, String firstError) {
        double opsPerSecond() {
            return completedInWindow / windowSeconds;
        }

        long succeeded() {
            return sortedLatencyNanos.length;
        }
    }

    private final Operation operation;
    private final int inFlight;
    private final long maxOps;
    private final LatencyRecorder latencies = new LatencyRecorder();
    private final AtomicLong issued = new AtomicLong();
    private final AtomicLong completedInWindow = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong retries = new AtomicLong();
    private final AtomicReference<String> firstError = new AtomicReference<>();
    private final CountDownLatch chainsDone;
    private volatile long deadline;

    private ClosedLoop(Operation operation, int inFlight, long maxOps) {
        if (inFlight < 1) {
            throw new IllegalArgumentException("inFlight must be at least 1, got " + inFlight);
        }
        this.operation = operation;
        this.inFlight = inFlight;
        this.maxOps = maxOps;
        this.chainsDone = new CountDownLatch(inFlight);
    }

    /** Runs {@code operation} with {@code inFlight} in flight for {@code window}, bounded by {@code maxOps}. */
    static Result run(Operation operation, int inFlight, Duration window, long maxOps, Duration drainLimit)
            throws InterruptedException {
        return new ClosedLoop(operation, inFlight, maxOps).measure(window, drainLimit);
    }

    private Result measure(Duration window, Duration drainLimit) throws InterruptedException {
        long start = System.nanoTime();
        deadline = start + window.toNanos();
        for (int i = 0; i < inFlight; i++) {
            next();
        }
        boolean drained = chainsDone.await(window.plus(drainLimit).toNanos(), TimeUnit.NANOSECONDS);
        long windowNanos = Math.min(System.nanoTime(), deadline) - start;
        return new Result(completedInWindow.get(), errors.get(), retries.get(), windowNanos / 1e9,
                latencies.sorted(), drained, firstError.get());
    }

    /** Starts operations on this chain until one is still running (then its completion continues the chain). */
    private void next() {
        while (true) {
            long startedAt = System.nanoTime();
            long seq = startedAt < deadline ? issued.getAndIncrement() : maxOps;
            if (seq >= maxOps) {
                chainsDone.countDown();
                return;
            }
            CompletableFuture<Integer> op;
            try {
                op = operation.start(seq);
            } catch (RuntimeException e) {
                op = CompletableFuture.failedFuture(e);
            }
            if (op.isDone()) {
                op.whenComplete((r, e) -> done(startedAt, r, e));
                continue;
            }
            op.whenComplete((r, e) -> {
                done(startedAt, r, e);
                next();
            });
            return;
        }
    }

    private void done(long startedAt, Integer opRetries, Throwable error) {
        long now = System.nanoTime();
        if (error != null) {
            errors.incrementAndGet();
            firstError.compareAndSet(null, describe(error));
            return;
        }
        latencies.record(now - startedAt);
        if (opRetries != null) {
            retries.addAndGet(opRetries);
        }
        if (now <= deadline) {
            completedInWindow.incrementAndGet();
        }
    }

    private static String describe(Throwable error) {
        Throwable cause = error;
        while ((cause instanceof java.util.concurrent.CompletionException
                || cause instanceof java.util.concurrent.ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }
}
