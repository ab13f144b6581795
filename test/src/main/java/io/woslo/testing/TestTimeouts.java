package io.woslo.testing;

import java.time.Duration;

/**
 * The one place tests take their time bounds from. Bounds are generous on purpose: they are there to turn a hang
 * into a failure, never to assert speed. Set {@code WOSLO_TEST_TIMEOUT_SCALE} (a positive number, default 1) to
 * stretch all of them on a slow machine.
 */
public final class TestTimeouts {
    private static final double SCALE = readScale();

    private TestTimeouts() {
    }

    /** {@code base} multiplied by the configured scale. */
    public static Duration scaled(Duration base) {
        return Duration.ofNanos((long) (base.toNanos() * SCALE));
    }

    /** How long an etcd member may take to become healthy. */
    public static Duration etcdStart() {
        return scaled(Duration.ofSeconds(30));
    }

    /** How long a single test step (a lock hand-over, a write after a failover) may take before it is a hang. */
    public static Duration step() {
        return scaled(Duration.ofSeconds(20));
    }

    private static double readScale() {
        String raw = System.getenv("WOSLO_TEST_TIMEOUT_SCALE");
        if (raw == null || raw.isBlank()) {
            return 1.0;
        }
        try {
            double value = Double.parseDouble(raw.trim());
            if (value > 0) {
                return value;
            }
        } catch (NumberFormatException ignored) {
            // fall through to the error below
        }
        throw new IllegalStateException("WOSLO_TEST_TIMEOUT_SCALE must be a positive number, got '" + raw + "'");
    }
}
