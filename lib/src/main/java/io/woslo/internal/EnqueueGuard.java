package io.woslo.internal;

import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.Op;
import java.util.List;

/**
 * Extra compares and writes made atomically with a lock's enqueue. The quota's write lock uses it to touch the
 * account's index key as it queues, so that every reservation prepared before the writer queued fails its compare.
 * When the compares fail nothing is enqueued and the attempt ends with {@link LockOutcome.Conflict}.
 *
 * @param compares must all hold for the enqueue to happen
 * @param writes done in the same transaction as the enqueue
 */
public record EnqueueGuard(List<Cmp> compares, List<Op> writes) {
    public static final EnqueueGuard NONE = new EnqueueGuard(List.of(), List.of());

    public EnqueueGuard {
        compares = List.copyOf(compares);
        writes = List.copyOf(writes);
    }
}
