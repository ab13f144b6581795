package io.woslo.internal;

/**
 * How an attempt to take a lock ended, when it did not fail: the expected outcomes are values, and only failures
 * (etcd unreachable, the entry ended while waiting) are exceptions.
 */
public sealed interface LockOutcome {

    /** The lock is held through {@code acquisition}. */
    record Acquired(Acquisition acquisition) implements LockOutcome {
    }

    /** The maximum wait passed (or a one-look attempt found the lock held); the entry is gone from etcd. */
    record TimedOut() implements LockOutcome {
    }

    /** The {@link EnqueueGuard}'s compares failed: what it protects changed; nothing was enqueued. */
    record Conflict() implements LockOutcome {
    }
}
