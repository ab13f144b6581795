package io.woslo.quota;

/** A handler whose used and quota figures never change, as the mock handler of the original edition's README. */
record FixedHandler(long used, long quota) implements UsedQuotaHandler {
    @Override
    public long queryUsed(String account) {
        return used;
    }

    @Override
    public long queryQuota(String account) {
        return quota;
    }
}
