package io.woslo.bench;

import java.util.List;

/**
 * One of the benchmark's performance targets (docs/performance.md), with the measured value.
 *
 * @param atLeast true when the measured ratio must be at least {@code bound}, false when at most
 */
record Target(String goal, double measured, double bound, boolean atLeast) {

    /** PASS, MISS, or "n/a" when a figure is missing. */
    String verdict() {
        if (Double.isNaN(measured)) {
            return "n/a";
        }
        return (atLeast ? measured >= bound : measured <= bound) ? "PASS" : "MISS";
    }

    String requirement() {
        return (atLeast ? "≥ " : "≤ ") + bound;
    }

    /** The performance targets, on these results. */
    static List<Target> of(Results r) {
        String put = Results.CEILING;
        return List.of(
                new Target("reserve-spread / etcd-put ops/s at 64 in flight",
                        r.throughputRatio("reserve-spread", put, 64), 0.5, true),
                new Target("reserve-hot / etcd-put ops/s at 64 in flight",
                        r.throughputRatio("reserve-hot", put, 64), 0.5, true),
                new Target("reserve-hot / reserve-spread ops/s at 64 in flight",
                        r.throughputRatio("reserve-hot", "reserve-spread", 64), 0.8, true),
                new Target("reserve-spread p50 / etcd-put p50 at 1 in flight",
                        r.p50Ratio("reserve-spread", put, 1), 2.5, false),
                new Target("lock-write-contended / etcd-put ops/s at 64 in flight",
                        r.throughputRatio("lock-write-contended", put, 64), 0.3, true),
                // the HTTP API and one hot account shared by several processes
                new Target("http-reserve / reserve-spread ops/s at 64 in flight",
                        r.throughputRatio("http-reserve", "reserve-spread", 64), 0.5, true),
                new Target("http-reserve p50 / reserve-spread p50 at 1 in flight",
                        r.p50Ratio("http-reserve", "reserve-spread", 1), 2.0, false),
                new Target("reserve-hot-3clients / etcd-put ops/s at 16 in flight",
                        r.throughputRatio("reserve-hot-3clients", put, 16), 0.5, true),
                new Target("reserve-hot-3clients / etcd-put ops/s at 64 in flight",
                        r.throughputRatio("reserve-hot-3clients", put, 64), 0.5, true),
                new Target("http-reserve-hot-2coordinators / etcd-put ops/s at 64 in flight",
                        r.throughputRatio("http-reserve-hot-2coordinators", put, 64), 0.3, true));
    }
}
