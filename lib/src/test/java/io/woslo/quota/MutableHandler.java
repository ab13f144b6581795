package io.woslo.quota;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A handler whose figures the test owns: {@link #used} plays the system of record (what a service has committed),
 * {@link #quota} the account's limit. The same figures are reported for every account.
 */
final class MutableHandler implements UsedQuotaHandler {
    final AtomicLong used;
    final AtomicLong quota;

    MutableHandler(long used, long quota) {
        this.used = new AtomicLong(used);
        this.quota = new AtomicLong(quota);
    }

    @Override
    public long queryUsed(String account) {
        return used.get();
    }

    @Override
    public long queryQuota(String account) {
        return quota.get();
    }
}
