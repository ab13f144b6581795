package io.woslo.internal;

import java.util.List;
import java.util.function.Predicate;

/**
 * What an entry of a lock's queue waits for: the one rule that makes the queue a read-write lock. Entries are
 * ordered by create revision; a writer waits for every earlier entry, a reader only for earlier writers. So the
 * queue is served first come, first served, and readers that come after a waiting writer do not starve it.
 *
 * <p>Pure: no etcd, no state. {@link #look} decides on a queue as read; the engine does the waiting.
 */
public enum LockPolicy {
    /** Shared: many readers hold together; waits only for earlier writers. */
    READ {
        @Override
        public boolean waitsFor(QueueEntry earlier) {
            return earlier.write();
        }
    },
    /** Exclusive: waits for every earlier entry, reader or writer. */
    WRITE {
        @Override
        public boolean waitsFor(QueueEntry earlier) {
            return true;
        }
    };

    /** The policy of a write ({@code true}) or read lock. */
    public static LockPolicy of(boolean write) {
        return write ? WRITE : READ;
    }

    /** Whether an entry with this policy must wait while {@code earlier} (created before it) exists. */
    public abstract boolean waitsFor(QueueEntry earlier);

    /** Whether this is the exclusive policy. */
    public boolean isWrite() {
        return this == WRITE;
    }

    /** {@code read} or {@code write}: how entry values, logs and metrics name the mode. */
    public String label() {
        return isWrite() ? "write" : "read";
    }

    /**
     * How many entries at the head of {@code queue} (in create-revision order) hold the lock: each one that waits for
     * no earlier entry. They are always a prefix (a writer alone, or the readers before the first writer); the rest
     * wait. What {@code inspect} and {@code describe} show as holders, by the rule the engine grants by.
     */
    public static int holders(List<QueueEntry> queue) {
        int held = 0;
        for (QueueEntry entry : queue) {
            LockPolicy policy = of(entry.write());
            for (int i = 0; i < held; i++) {
                if (policy.waitsFor(queue.get(i))) {
                    return held;
                }
            }
            held++;
        }
        return held;
    }

    /**
     * Looks at {@code queue} (in create-revision order) for the entry {@code ownKey}: {@link Look.Missing} when it is
     * not there, {@link Look.Blocked} by the newest earlier entry it waits for that is not known {@code gone}, else
     * {@link Look.Free}. Entries after {@code ownKey} never matter.
     */
    public Look look(List<QueueEntry> queue, String ownKey, Predicate<String> gone) {
        QueueEntry blocker = null;
        for (QueueEntry entry : queue) {
            if (entry.key().equals(ownKey)) {
                return blocker == null ? new Look.Free(entry) : new Look.Blocked(entry, blocker);
            }
            if (waitsFor(entry) && !gone.test(entry.key())) {
                blocker = entry;
            }
        }
        return new Look.Missing();
    }

    /** What {@link #look} found. */
    public sealed interface Look {
        /** The own entry is not in the queue: it ended (lease gone, removed by hand). */
        record Missing() implements Look {
        }

        /** Nothing before {@code own} is waited for: the lock is held. */
        record Free(QueueEntry own) implements Look {
        }

        /** {@code blocker} is the newest earlier entry {@code own} must see gone. */
        record Blocked(QueueEntry own, QueueEntry blocker) implements Look {
        }
    }
}
