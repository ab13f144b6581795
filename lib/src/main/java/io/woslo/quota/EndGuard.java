package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.woslo.internal.CounterStore;
import io.woslo.internal.Fence;
import io.woslo.internal.Futures;
import io.woslo.internal.KeyHistory;
import io.woslo.internal.KeyLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The guard of the ONE transaction that ends a reservation: the counters it gives back (if any), its lock entry
 * deleted, and for a stored reservation its record deleted, together.
 *
 * <p>It compares the record's mod revision (of two processes ending one reservation, exactly one commits; an extend
 * in between makes the ender read again), the lock entry that fences the counters (when counters change; a holder
 * whose lease ended writes nothing), and an idempotency key's absence when the request carried one.
 *
 * <p><b>A lost answer</b> is settled on the key the transaction compared: the record (or, for a reservation held in
 * memory, the entry). If it is still as compared, it is rewritten unchanged (a record) or deleted (an entry), so the
 * lost transaction can never commit: not applied. If it is gone, etcd's history gives the revision it went at, and
 * the transaction landed there exactly when the counters that changed at that revision are the ones it wrote: a
 * lease that ended changes none, and a finish by another process changes none, which is the same outcome as ours.
 */
final class EndGuard implements CounterStore.Guard {
    private final KV kv;
    private final Watch watches;
    private final KeyLayout layout;
    private final Duration bound;
    private final String account;
    private final Set<String> resources;
    private final KeyValue record;
    private final Fence fence;
    private final String entryKey;
    private final long entryRevision;
    private final Idempotency.Claim claim;
    private volatile Set<String> lastChanged = Set.of();

    /**
     * @param resources the reservation's resources (to read etcd's history of, when settling)
     * @param record the stored reservation's record as read, or null for a reservation held in memory
     * @param fence the lock entry that fences the counter changes, or null when none change
     * @param entryKey the reservation's lock entry, deleted
     * @param entryRevision its create revision
     * @param claim the request's idempotency claim, or null
     */
    EndGuard(io.etcd.jetcd.Client client, KeyLayout layout, Duration bound, String account, Set<String> resources,
             KeyValue record, Fence fence, String entryKey, long entryRevision, Idempotency.Claim claim) {
        this.kv = client.getKVClient();
        this.watches = client.getWatchClient();
        this.layout = layout;
        this.bound = bound;
        this.account = account;
        this.resources = Set.copyOf(resources);
        this.record = record;
        this.fence = fence;
        this.entryKey = entryKey;
        this.entryRevision = entryRevision;
        this.claim = claim;
    }

    /** The reservation's account. */
    String account() {
        return account;
    }

    @Override
    public List<Cmp> compares() {
        List<Cmp> out = new ArrayList<>(3);
        if (record != null) {
            out.add(new Cmp(record.getKey(), Cmp.Op.EQUAL, CmpTarget.modRevision(record.getModRevision())));
        }
        if (fence != null) {
            out.add(fence.compare());
        }
        if (claim != null) {
            out.add(claim.compare());
        }
        return out;
    }

    @Override
    public List<Op> writes(String writeId, Set<String> changed) {
        lastChanged = Set.copyOf(changed);
        List<Op> out = new ArrayList<>(3);
        if (record != null) {
            out.add(Op.delete(record.getKey(), DeleteOption.DEFAULT));
        }
        out.add(Op.delete(bytes(entryKey), DeleteOption.DEFAULT));
        if (claim != null) {
            out.add(claim.write());
        }
        return out;
    }

    @Override
    public List<Op> reads() {
        List<Op> out = new ArrayList<>(3);
        if (record != null) {
            out.add(Op.get(record.getKey(), GetOption.builder().withKeysOnly(true).build()));
        }
        if (fence != null) {
            out.add(fence.read());
        }
        if (claim != null) {
            out.add(claim.read());
        }
        return out;
    }

    @Override
    public RuntimeException failure(List<GetResponse> reads, String what) {
        if (claim != null) { // first: a duplicate that ended the reservation under our key answers its outcome
            RuntimeException taken = claim.failure(reads.get(reads.size() - 1).getKvs());
            if (taken != null) {
                return taken;
            }
        }
        int i = 0;
        if (record != null) {
            List<KeyValue> seen = reads.get(i++).getKvs();
            if (seen.isEmpty() || seen.get(0).getCreateRevision() != record.getCreateRevision()) {
                return new EndedElsewhere();
            }
            if (seen.get(0).getModRevision() != record.getModRevision()) {
                return new RecordChanged();
            }
        }
        if (fence != null) {
            List<KeyValue> seen = reads.get(i++).getKvs();
            if (!fence.holds(seen.isEmpty() ? null : seen.get(0))) {
                return fence.lost(what);
            }
        }
        return null;
    }

    @Override
    public boolean writesAlone() {
        return true;
    }

    @Override
    public CompletableFuture<Boolean> settle(String writeId) {
        Set<String> wrote = lastChanged;
        ByteSequence key = record != null ? record.getKey() : bytes(entryKey);
        long after = record != null ? record.getModRevision() : entryRevision;
        Cmp unchanged = record != null
                ? new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(record.getModRevision()))
                : new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(entryRevision));
        Op withdraw = record != null
                ? Op.put(key, record.getValue(), PutOption.builder().withLeaseId(record.getLease()).build())
                : Op.delete(key, DeleteOption.DEFAULT);
        List<Op> reads = new ArrayList<>(2);
        reads.add(Op.get(key, GetOption.builder().withKeysOnly(true).build()));
        if (claim != null) {
            reads.add(claim.read());
        }
        CompletableFuture<TxnResponse> txn = kv.txn().If(unchanged).Then(withdraw).Else(reads.toArray(Op[]::new))
                .commit();
        return Futures.bounded(txn, bound, "the settlement of the end of a reservation of account '" + account + "'")
                .thenCompose(response -> {
                    if (response.isSucceeded()) {
                        return CompletableFuture.completedFuture(false); // withdrawn: it can never commit now
                    }
                    List<GetResponse> gets = response.getGetResponses();
                    if (claim != null && claim.applied(gets.get(1).getKvs())) {
                        return CompletableFuture.completedFuture(true);
                    }
                    if (!gets.get(0).getKvs().isEmpty()) {
                        return CompletableFuture.completedFuture(false); // changed, so no longer as compared
                    }
                    return goneAt(key, after).thenCompose(revision -> revision == 0
                            ? CompletableFuture.completedFuture(false)
                            : changedAt(revision).thenApply(wrote::equals));
                });
    }

    /** The revision {@code key} was deleted at, from history; 0 when it was rewritten first (the end cannot land). */
    private CompletableFuture<Long> goneAt(ByteSequence key, long after) {
        return KeyHistory.first(watches, key, after, event -> {
            if (event.getEventType() == WatchEvent.EventType.DELETE) {
                return Optional.of(event.getKeyValue().getModRevision());
            }
            return record != null ? Optional.of(0L) : Optional.empty(); // a record rewritten: no longer as compared
        }, bound, "a read of the history of " + key);
    }

    /** Which of the reservation's counters were written at {@code revision}. */
    private CompletableFuture<Set<String>> changedAt(long revision) {
        Map<String, String> keys = new HashMap<>();
        resources.forEach(resource -> keys.put(resource, layout.quotaKey(account, resource)));
        return AtRevision.changed(kv, keys, revision, bound);
    }

    /** The record is gone, or is another one: the reservation was ended by someone else; this changed nothing. */
    static final class EndedElsewhere extends RuntimeException {
        private static final long serialVersionUID = 1L;

        EndedElsewhere() {
            super("the reservation was ended elsewhere", null, false, false);
        }
    }

    /** The record was rewritten (extended) since it was read: read it again and retry. */
    static final class RecordChanged extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RecordChanged() {
            super("the reservation's record changed while it was being ended", null, false, false);
        }
    }
}
