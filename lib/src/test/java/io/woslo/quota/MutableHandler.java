package io.woslo.quota;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A handler whose figures the test owns: {@link #used} plays the system of record (what a service has committed),
 * {@link #quota} the account's limit. The same figures are reported for every account.
 */
public final class MutableHandler implements UsedQuotaHandler {
    public final AtomicLong used;
    public final AtomicLong quota;

    public MutableHandler(long used, long quota) {
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
