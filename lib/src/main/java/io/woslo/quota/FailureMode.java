package io.woslo.quota;

/** What {@link QuotaManager#prepareOccupying} does when etcd cannot be reached. */
public enum FailureMode {
    /** Refuse: throw {@link QuotaUnavailableException}. The default: quota is never exceeded. */
    CLOSED,
    /**
     * Let the work go on: return a reservation that changed nothing, log a warning and count it. For services
     * that prefer availability; a later refresh brings the counters back to the truth.
     */
    OPEN
}
