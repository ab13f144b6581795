package io.woslo.quota;

/** What {@link QuotaManager} counts; a no-op unless a Micrometer registry is configured. */
interface QuotaMetrics {
    QuotaMetrics NONE = new QuotaMetrics() {
    };

    /**
     * A reservation ended with {@code outcome} (reserved, exceeded, unavailable, fail_open or noop) {@code nanos}
     * after the call.
     */
    default void reservation(String outcome, long nanos) {
    }

    /** The over-quota scan found {@code account} over its quota of {@code resource}. */
    default void overQuota(String account, String resource) {
    }

    /** The health probe saw etcd answer ({@code true}) or not. */
    default void etcdHealthy(boolean healthy) {
    }
}
