package io.woslo.testing;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The one bounded-polling helper: for state that has no event to wait on (etcd keys, a health flag, a leader
 * election seen from outside) and for calls that are retried until a recovering cluster answers. Every wait has a
 * bound; a test that has an event to wait on (a watch, a latch, a future) waits on that instead.
 */
public final class Await {
    private static final Duration POLL = Duration.ofMillis(10);

    private Await() {
    }

    /** A call that may fail; {@code E} is what it may throw besides unchecked exceptions. */
    @FunctionalInterface
    public interface Attempt<T, E extends Exception> {
        T call() throws E;
    }

    /** Polls {@code condition} until it holds; fails naming {@code what} after the step timeout. */
    public static void until(String what, BooleanSupplier condition) {
        until(what, TestTimeouts.step(), condition);
    }

    /** Polls {@code condition} until it holds; fails naming {@code what} after {@code bound}. */
    public static void until(String what, Duration bound, BooleanSupplier condition) {
        try {
            if (poll(bound, POLL, POLL, () -> condition.getAsBoolean() ? Optional.of(true) : Optional.empty())
                    .isEmpty()) {
                throw new AssertionError("not within " + bound + ": " + what);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for: " + what, e);
        }
    }

    /**
     * Asks {@code probe} until it gives a value, pausing {@code pause} between tries and doubling the pause up to
     * {@code maxPause}; empty once {@code bound} has passed without one. The probe is always asked at least once.
     * The caller says what a timeout means (an assertion, or an exception of its own).
     */
    public static <T> Optional<T> poll(Duration bound, Duration pause, Duration maxPause, Supplier<Optional<T>> probe)
            throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        long pauseNanos = pause.toNanos();
        while (true) {
            Optional<T> value = probe.get();
            if (value.isPresent()) {
                return value;
            }
            if (System.nanoTime() > deadline) {
                return Optional.empty();
            }
            TimeUnit.NANOSECONDS.sleep(pauseNanos);
            pauseNanos = Math.min(pauseNanos * 2, maxPause.toNanos());
        }
    }

    /** {@link #retrying(String, Duration, Duration, Predicate, Attempt)} with the usual short pause. */
    public static <T, E extends Exception> T retrying(String what, Duration bound,
                                                      Predicate<? super Exception> retryable, Attempt<T, E> attempt)
            throws E {
        return retrying(what, bound, POLL, retryable, attempt);
    }

    /**
     * Makes {@code attempt} until it returns and returns what it returned. A failure {@code retryable} accepts is
     * tried again after {@code pause}; any other is thrown at once. Fails naming {@code what}, with the last failure
     * as the cause, when {@code bound} passes first. Each attempt should be bounded itself (an operation timeout).
     */
    public static <T, E extends Exception> T retrying(String what, Duration bound, Duration pause,
                                                      Predicate<? super Exception> retryable, Attempt<T, E> attempt)
            throws E {
        long deadline = System.nanoTime() + bound.toNanos();
        while (true) {
            try {
                return attempt.call();
            } catch (Exception e) {
                if (!retryable.test(e)) {
                    throw e;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(what + " did not succeed within " + bound, e);
                }
            }
            try {
                TimeUnit.NANOSECONDS.sleep(pause.toNanos());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for: " + what, e);
            }
        }
    }
}
