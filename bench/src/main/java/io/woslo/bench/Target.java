package io.woslo.bench;

/**
 * One of the performance targets ({@link Targets}) with the ratio measured in a run.
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
}
