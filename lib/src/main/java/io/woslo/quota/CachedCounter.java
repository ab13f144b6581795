package io.woslo.quota;

/**
 * One counter as cached in etcd at {@code <ns>/quota/<account>/<resource>}.
 *
 * @param used the usage, reservations in flight included
 * @param quota the quota
 * @param refreshedAtMillis when it was last re-read from the handlers, epoch milliseconds (0 when never)
 */
public record CachedCounter(long used, long quota, long refreshedAtMillis) {
    /** Whether more is used than the quota allows (a quota lowered at the source, say). */
    public boolean overQuota() {
        return used > quota;
    }
}
