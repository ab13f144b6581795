package io.woslo.internal;

/**
 * A counter as read from etcd, with the mod revision a compare-and-swap must match.
 *
 * @param counter the value, or null when the key does not exist
 * @param modRevision the key's mod revision, 0 when it does not exist
 */
public record VersionedCounter(Counter counter, long modRevision) {
    public static final VersionedCounter MISSING = new VersionedCounter(null, 0);

    public boolean exists() {
        return counter != null;
    }
}
