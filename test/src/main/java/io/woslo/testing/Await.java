package io.woslo.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Bounded polling of state that has no event to wait on (etcd keys, a health flag). */
public final class Await {
    private static final long POLL_MILLIS = 10;

    private Await() {
    }

    /** Polls {@code condition} until it holds; fails naming {@code what} after the step timeout. */
    public static void until(String what, BooleanSupplier condition) {
        until(what, TestTimeouts.step(), condition);
    }

    /** Polls {@code condition} until it holds; fails naming {@code what} after {@code bound}. */
    public static void until(String what, Duration bound, BooleanSupplier condition) {
        long deadline = System.nanoTime() + bound.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + bound + ": " + what);
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for: " + what, e);
            }
        }
    }
}
