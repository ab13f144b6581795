package io.woslo.internal;

/**
 * One entry in a lock's queue, as read from etcd: a key under {@code <ns>/locks/<key>/} created by one acquisition.
 * Entries are ordered by their etcd create revision; whether an entry is a writer is read from its name
 * ({@link KeyLayout#isWriteEntry}), so the queue can be read with a keys-only range. Which entries wait for which is
 * {@link LockPolicy}'s.
 *
 * @param key the full etcd key of the entry
 * @param write whether the entry asks for the write lock (any entry not named by WOSLO counts as a writer)
 * @param createRevision the etcd revision at which the entry was created: its place in the queue
 */
public record QueueEntry(String key, boolean write, long createRevision) {
}
