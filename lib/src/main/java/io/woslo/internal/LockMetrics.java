package io.woslo.internal;

/**
 * What a {@link LockEngine} counts: grants, waits behind other holders, and holds lost before their release. A
 * no-op ({@link #NONE}) unless a Micrometer registry is configured ({@link MicrometerLockMetrics}). Calls come from
 * etcd callback threads and must return at once.
 */
public interface LockMetrics {
    /** Counts nothing. */
    LockMetrics NONE = new LockMetrics() {
    };

    /** A lock was granted: by the engine, or as a reservation's read entry written by the quota fast path. */
    default void acquired(LockPolicy policy) {
    }

    /**
     * An attempt that found the lock held, and so waited, ended after {@code nanos} (counted from the attempt's
     * start): {@code granted}, {@code timeout} (its maximum wait passed, or it was a one-look attempt) or
     * {@code failed} (etcd unreachable, or its entry ended while it waited).
     */
    default void waited(LockPolicy policy, WaitOutcome outcome, long nanos) {
    }

    /** A granted hold was found lost (its lease ended or its entry was deleted) before its holder let go. */
    default void lost(LockPolicy policy) {
    }

    /** How a wait for a held lock ended. */
    enum WaitOutcome {
        GRANTED, TIMEOUT, FAILED;

        /** The label value: {@code granted}, {@code timeout}, {@code failed}. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
