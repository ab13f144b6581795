package io.woslo.quota;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * What etcd holds for one account, from {@link QuotaAccounts}: its index entry and its cached counters.
 *
 * @param account the account's name
 * @param refreshedAtMillis the {@code refreshedAt} of {@code <ns>/accounts/<account>}, or null when there is no
 *        such key
 * @param resources its counters by resource name, sorted
 */
public record AccountState(String account, Long refreshedAtMillis, Map<String, CachedCounter> resources) {
    public AccountState {
        resources = Collections.unmodifiableMap(new TreeMap<>(resources));
    }

    /** Whether any of its counters is over quota. */
    public boolean overQuota() {
        return resources.values().stream().anyMatch(CachedCounter::overQuota);
    }
}
