package io.woslo.bench;

import java.time.Duration;

/**
 * How long each phase runs. Every figure is the median of {@code repetitions} windows, measured after a warm-up of
 * the whole JVM at the start ({@code globalWarmUp}), one of the coordinator processes when HTTP scenarios run
 * ({@code coordinatorWarmUp}), and a short one before each scenario and in-flight level.
 */
record Timing(String mode, Duration globalWarmUp, Duration coordinatorWarmUp, Duration cellWarmUp, Duration window,
              int repetitions, long maxOpsPerWindow, Duration drainLimit) {

    /** Under 2 minutes in all. */
    static final Timing QUICK = new Timing("quick", Duration.ofSeconds(5), Duration.ofSeconds(10),
            Duration.ofMillis(200), Duration.ofMillis(600), 3, 2_000_000, Duration.ofSeconds(12));

    /** Under 10 minutes in all. */
    static final Timing FULL = new Timing("full", Duration.ofSeconds(15), Duration.ofSeconds(20), Duration.ofSeconds(1),
            Duration.ofSeconds(3), 3, 10_000_000, Duration.ofSeconds(12));
}
