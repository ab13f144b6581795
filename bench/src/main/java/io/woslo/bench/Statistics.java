package io.woslo.bench;

import java.util.Arrays;

/**
 * The arithmetic behind every figure of the report (and of docs/performance.md): nearest-rank percentiles, medians
 * over repetitions, ratios, and per-operation costs. A figure that cannot be computed is NaN, shown as "—".
 */
final class Statistics {
    private static final double NANOS_PER_MILLI = 1_000_000.0;
    private static final double NANOS_PER_SECOND = 1e9;

    private Statistics() {
    }

    /**
     * The nearest-rank percentile {@code p} (0 &lt; p &lt;= 1) of ascending nanoseconds, in milliseconds: the
     * smallest value with at least {@code p} of all values at or below it. NaN when there is none.
     */
    static double percentileMillis(long[] sortedNanos, double p) {
        if (sortedNanos.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p * sortedNanos.length);
        int index = Math.min(sortedNanos.length - 1, Math.max(0, rank - 1));
        return sortedNanos[index] / NANOS_PER_MILLI;
    }

    /** The median of the values that are numbers (the mean of the middle two of an even count); NaN when none is. */
    static double median(double[] values) {
        double[] numbers = Arrays.stream(values).filter(v -> !Double.isNaN(v)).sorted().toArray();
        if (numbers.length == 0) {
            return Double.NaN;
        }
        int mid = numbers.length / 2;
        return numbers.length % 2 == 1 ? numbers[mid] : (numbers[mid - 1] + numbers[mid]) / 2;
    }

    /** {@code numerator / denominator}; NaN unless the denominator is a positive number. */
    static double ratio(double numerator, double denominator) {
        return denominator > 0 ? numerator / denominator : Double.NaN;
    }

    /** Retries per successful operation; NaN when none succeeded. */
    static double retriesPerOp(long retries, long succeeded) {
        return succeeded == 0 ? Double.NaN : (double) retries / succeeded;
    }

    /** CPU milliseconds per successful operation; NaN when none succeeded or no CPU time was read. */
    static double cpuMillisPerOp(long cpuNanos, long succeeded) {
        return succeeded == 0 || cpuNanos <= 0 ? Double.NaN : cpuNanos / NANOS_PER_MILLI / succeeded;
    }

    /** CPU time over the window's length: how many cores were busy on average; NaN when no CPU time was read. */
    static double coresBusy(long cpuNanos, double windowSeconds) {
        return cpuNanos <= 0 ? Double.NaN : cpuNanos / NANOS_PER_SECOND / windowSeconds;
    }
}
