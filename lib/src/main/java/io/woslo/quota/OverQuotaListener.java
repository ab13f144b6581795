package io.woslo.quota;

/** Told by the periodic over-quota scan about each account and resource whose handlers report used above quota. */
@FunctionalInterface
public interface OverQuotaListener {
    void overQuota(String account, String resource, long used, long quota);
}
