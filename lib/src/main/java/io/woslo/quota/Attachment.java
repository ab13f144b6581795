package io.woslo.quota;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.Op;
import io.woslo.internal.Acquisition;
import io.woslo.internal.CounterStore;
import java.util.List;
import java.util.Set;

/**
 * What a request adds to its transaction besides its lock entry: a stored reservation's record, an idempotency
 * claim. Its operations name keys of its own (never a counter or another request's key).
 */
interface Attachment {
    /**
     * The name of the request's lock entry under the account's lock (starting with {@code r-}), unique to it; null
     * for a new name. A stored reservation names it after its id, so that it can be ended without a read.
     */
    default String entryName() {
        return null;
    }

    /** The most operations it adds to one branch of the transaction. */
    int size();

    /** What must hold too; when it does not, {@link #failure} says why. */
    List<Cmp> compares();

    /** Written with the request's lock entry {@code entryKey}, on the entry's lease. */
    List<Op> writes(String entryKey, long leaseId);

    /** Read in the else branch. */
    List<Op> reads();

    /** Given what {@link #reads()} returned: why this request's compares failed, or null when they held. */
    RuntimeException failure(List<GetResponse> reads);

    /** Deletes what {@link #writes} wrote: the undo of a request that landed after its caller was told it failed. */
    List<Op> undo();

    /**
     * Whether a request whose answer was lost is left as it lands and its caller told the outcome is unknown
     * (a caller with an idempotency key retries and learns it), rather than told "not applied" and undone.
     */
    boolean keptWhenLost();

    /** The slow path's form: guarded changes of its fenced counter update, under the lock it took. */
    List<CounterStore.Also> underLock(Acquisition lock);

    /**
     * Keys it writes that another request may write too (its idempotency key, which a duplicate claims as well):
     * requests sharing one never go in one transaction, which etcd would refuse as a whole.
     */
    default Set<ByteSequence> claimed() {
        return Set.of();
    }
}
