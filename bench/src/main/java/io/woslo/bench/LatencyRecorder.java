package io.woslo.bench;

import java.util.Arrays;

/** Latencies of one measured phase, kept exactly (a growable array) and sorted once for percentiles. */
final class LatencyRecorder {
    private long[] nanos = new long[4096];
    private int size;

    synchronized void record(long latencyNanos) {
        if (size == nanos.length) {
            nanos = Arrays.copyOf(nanos, size * 2);
        }
        nanos[size++] = latencyNanos;
    }

    /** A sorted copy of what was recorded. */
    synchronized long[] sorted() {
        long[] out = Arrays.copyOf(nanos, size);
        Arrays.sort(out);
        return out;
    }

    /** The nearest-rank percentile {@code p} (0 < p <= 1) of sorted nanoseconds, in milliseconds; NaN when empty. */
    static double percentileMillis(long[] sortedNanos, double p) {
        if (sortedNanos.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p * sortedNanos.length);
        int index = Math.min(sortedNanos.length - 1, Math.max(0, rank - 1));
        return sortedNanos[index] / 1_000_000.0;
    }
}
