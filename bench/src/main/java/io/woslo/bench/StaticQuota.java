package io.woslo.bench;

import io.woslo.quota.UsedQuotaHandler;

/** The same fixed figures for every account: nothing used, a quota no benchmark can reach. */
final class StaticQuota implements UsedQuotaHandler {
    /** Far above what any run reserves (each reservation keeps its amount: close() is the Go edition's Finally). */
    static final long HUGE = 1_000_000_000_000L;
    static final StaticQuota INSTANCE = new StaticQuota();

    private StaticQuota() {
    }

    @Override
    public long queryUsed(String account) {
        return 0;
    }

    @Override
    public long queryQuota(String account) {
        return HUGE;
    }
}
