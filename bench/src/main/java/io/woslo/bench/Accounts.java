package io.woslo.bench;

import io.woslo.quota.QuotaManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Account names for a phase, and loading their counters before the timed windows. */
final class Accounts {
    private static final Logger LOG = LoggerFactory.getLogger(Accounts.class);
    private static final int LOAD_IN_FLIGHT = 32;
    private static final Duration LOAD_LIMIT = Duration.ofMinutes(2);

    private Accounts() {
    }

    static List<String> named(String prefix, int count) {
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(prefix + i);
        }
        return List.copyOf(out);
    }

    /**
     * Creates the counters of {@code accounts} for all resources (a forced refresh each, as
     * {@code initResourceQuotaData} does, but {@value #LOAD_IN_FLIGHT} at a time), so that no timed reservation
     * pays for creating a counter.
     */
    static void load(QuotaManager quota, List<String> accounts) throws InterruptedException {
        long started = System.nanoTime();
        ClosedLoop.Result result = ClosedLoop.run(seq -> quota.refreshAsync(accounts.get((int) seq), true)
                        .thenApply(r -> {
                            if (!r.ok()) {
                                throw new IllegalStateException("refresh of " + r.account() + " failed: " + r.errors());
                            }
                            return 0;
                        }),
                Math.min(LOAD_IN_FLIGHT, accounts.size()), LOAD_LIMIT, accounts.size(), Duration.ofSeconds(15));
        if (result.errors() > 0 || result.succeeded() != accounts.size()) {
            throw new IllegalStateException("loading " + accounts.size() + " accounts: " + result.succeeded()
                    + " loaded, " + result.errors() + " failed; first failure: " + result.firstError());
        }
        LOG.debug("loaded {} accounts in {} ms", accounts.size(), (System.nanoTime() - started) / 1_000_000);
    }

    /** A requirement of 1 of each resource. */
    static Map<String, Long> oneEach(List<String> resources) {
        Map<String, Long> out = new java.util.LinkedHashMap<>();
        resources.forEach(r -> out.put(r, 1L));
        return Map.copyOf(out);
    }
}
