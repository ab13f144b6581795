package io.woslo.bench;

import java.util.Arrays;

/** Latencies of one measured phase, kept exactly (a growable array) and sorted once for percentiles
 * ({@link Statistics#percentileMillis}). */
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
}
