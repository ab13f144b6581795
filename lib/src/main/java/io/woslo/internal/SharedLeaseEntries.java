package io.woslo.internal;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Entries on shared leases: read entries that another component writes in its own transactions (the quota fast
 * path's reservations), each on a lease from a {@link LeasePool} that many entries share. Such an entry is named by
 * {@link KeyLayout#newLockEntryKey} (or after a reservation's id), valued by {@link LockEntryValue}, described by
 * {@link Acquisition#sharedRead}, and blocks writers like any entry. Its lease cannot be revoked (it holds other
 * entries), so it is released by deleting it, and those deletes are group-committed: concurrent releases share one
 * transaction, whose parts have no compares, so the combined transaction always succeeds.
 */
final class SharedLeaseEntries {
    private final TxnCombiner deletes;

    SharedLeaseEntries(TxnCombiner deletes) {
        this.deletes = deletes;
    }

    /** Deletes the entry of {@code acquisition}; completes with whether it was still there. */
    CompletableFuture<Boolean> release(Acquisition acquisition) {
        Op delete = Op.delete(bytes(acquisition.entryKey()), DeleteOption.DEFAULT);
        // In both branches: a release combined with parts whose compares may fail is done either way.
        return deletes.submit(new TxnCombiner.Part(List.of(), List.of(delete), List.of(delete))).outcome()
                .thenApply(outcome -> outcome.deleted().get(0) > 0);
    }
}
