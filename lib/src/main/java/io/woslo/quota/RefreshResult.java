package io.woslo.quota;

import java.util.List;
import java.util.Map;

/**
 * What {@link QuotaManager#refresh} did.
 *
 * @param account the account
 * @param refreshed resources whose counters now hold the handlers' figures
 * @param skipped resources left alone because they were refreshed within the last second (without {@code force})
 * @param errors resources whose handler failed, with the failure; their old counters were left in place
 */
public record RefreshResult(String account, List<String> refreshed, List<String> skipped, Map<String, String> errors) {
    public RefreshResult {
        refreshed = List.copyOf(refreshed);
        skipped = List.copyOf(skipped);
        errors = Map.copyOf(errors);
    }

    /** Whether every handler answered. */
    public boolean ok() {
        return errors.isEmpty();
    }
}
