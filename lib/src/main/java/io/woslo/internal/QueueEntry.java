package io.woslo.internal;

/**
 * One entry in a lock's queue: a key under {@code <ns>/locks/<key>/} created by one acquisition. Entries are ordered
 * by their etcd create revision; the entry's name starts with {@code r-} or {@code w-} so that the queue can be read
 * with a keys-only range.
 *
 * @param key the full etcd key of the entry
 * @param write whether the entry asks for the write lock
 * @param createRevision the etcd revision at which the entry was created: its place in the queue
 */
public record QueueEntry(String key, boolean write, long createRevision) {

    /** Whether an entry that asks for {@code write} (or read) must wait while this earlier entry exists. */
    public boolean blocks(boolean laterIsWrite) {
        return write || laterIsWrite;
    }

    static String entryName(boolean write, long leaseId, String sequence) {
        return (write ? "w-" : "r-") + Long.toHexString(leaseId) + "-" + sequence;
    }
}
