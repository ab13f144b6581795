package io.woslo.bench;

/**
 * A named benchmark scenario. {@code open} prepares it for one in-flight level (fresh keys or namespace, accounts
 * loaded) outside the timed phases.
 *
 * @param countsRetries whether its operations report their retries; otherwise the report shows "n/a"
 */
record Scenario(String name, String description, boolean countsRetries, Opener opener) {

    @FunctionalInterface
    interface Opener {
        Workload open(int inFlight) throws Exception;
    }

    Workload open(int inFlight) throws Exception {
        return opener.open(inFlight);
    }
}
