package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.Counter;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LeasePool;
import io.woslo.internal.TxnCombiner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A lane's batch sent as one plain transaction: the counters compared on their mod revisions and written as planned,
 * the account key compared ({@link AccountLock#noWriterQueuedSince}), one read entry per fitting request, and what
 * their attachments add; joined with other accounts' transactions by the group commit. A failed compare plans the
 * batch again on what the else branch read; a lost answer goes to {@link LateLandings}.
 */
final class BatchTxn {
    private final Lane lane;
    private final LateLandings late;
    private final String account;
    private final KV kv;
    private final KeyLayout layout;
    private final AccountLock locks;
    private final LeasePool leases;
    private final Duration opTimeout;
    private final FastReservations.Parts parts;

    BatchTxn(Lane lane, FastReservations.Parts parts, LateLandings late) {
        this.lane = lane;
        this.late = late;
        this.account = lane.account;
        this.parts = parts;
        this.kv = parts.kv();
        this.layout = parts.layout();
        this.locks = parts.locks();
        this.leases = parts.leases();
        this.opTimeout = parts.opTimeout();
    }


    CompletableFuture<Void> commit(List<BatchRequest> batch, Set<String> resources, CounterView seen,
                                   Map<String, Long> limits, long deadline) {
        Map<String, Counter> working = new LinkedHashMap<>();
        resources.forEach(r -> working.put(r, seen.counters().get(r).counter()));
        QuotaArithmetic.Planned<BatchRequest> planned = QuotaArithmetic.planBatch(account, batch, BatchRequest::wanted,
                working, limits);
        List<BatchRequest> fits = planned.fits();
        Map<BatchRequest, QuotaExceededException> refused = planned.refused();
        if (fits.isEmpty()) {
            if (!seen.confirmed()) { // refused on a remembered view: decide again on what etcd holds now
                return lane.readView().thenCompose(fresh -> fresh == null || !lane.usable(fresh, resources)
                        ? lane.slowPath(batch)
                        : lane.commit(batch, resources, fresh, limits, deadline));
            }
            refused.forEach((r, e) -> r.result().completeExceptionally(e));
            return CompletableFuture.completedFuture(null);
        }
        return leases.lease().thenCompose(leaseId -> {
            List<String> entries = new ArrayList<>();
            List<Op> writes = new ArrayList<>();
            List<Cmp> compares = new ArrayList<>();
            List<Op> reads = new ArrayList<>();
            for (String resource : resources) {
                ByteSequence key = bytes(layout.quotaKey(account, resource));
                compares.add(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(seen.counters().get(resource).modRevision())));
                writes.add(Op.put(key, Json.write(working.get(resource)), PutOption.DEFAULT));
                reads.add(Op.get(key, GetOption.DEFAULT));
            }
            PutOption onLease = PutOption.builder().withLeaseId(leaseId).build();
            for (BatchRequest request : fits) {
                String entry = lane.entryKey(request, leaseId);
                entries.add(entry);
                writes.add(Op.put(bytes(entry), locks.readEntryValue(), onLease));
            }
            compares.add(locks.noWriterQueuedSince(account, seen.accountRevision()));
            writes.add(lane.writersCount());
            reads.add(lane.writersCount());
            reads.add(lane.accountRead());
            for (int i = 0; i < fits.size(); i++) {
                Attachment attachment = fits.get(i).attachment();
                if (attachment != null) {
                    compares.addAll(attachment.compares());
                    writes.addAll(attachment.writes(entries.get(i), leaseId));
                    reads.addAll(attachment.reads());
                }
            }
            Set<ByteSequence> claimed = new HashSet<>();
            fits.forEach(r -> claimed.addAll(r.claimed()));
            TxnCombiner.Submission txn = parts.combiner().submit(new TxnCombiner.Part(compares, writes, reads, claimed));
            return txn.outcome()
                    .handle((outcome, error) -> {
                        if (error != null) {
                            if (Futures.isNotFound(error)) { // the shared lease is gone: take the slow path
                                leases.discard(leaseId);
                                return lane.slowPath(batch);
                            }
                            late.settle(txn.raw(), fits, entries, leaseId, seen, resources);
                            return lane.answerLost(fits, error);
                        }
                        if (outcome.succeeded()) {
                            lane.granted(outcome.revision(), outcome.gets().get(0).getCount(), seen.accountRevision(),
                                    fits, entries, working, leaseId);
                            refused.forEach((r, e) -> r.result().completeExceptionally(e));
                            return CompletableFuture.<Void>completedFuture(null);
                        }
                        // Our compares, or another part's in the same transaction, failed: requests whose own
                        // attachment failed get that answer; the others are planned again on what the else branch
                        // read (unchanged counters simply go again).
                        List<BatchRequest> again = lane.withoutFailedAttachments(batch, fits,
                                outcome.gets().subList(resources.size() + 2, outcome.gets().size()));
                        if (again.isEmpty()) {
                            return CompletableFuture.<Void>completedFuture(null);
                        }
                        CounterView fresh = lane.see(lane.fromElse(resources, seen, outcome.gets()),
                                outcome.gets().get(resources.size()).getCount(),
                                CounterView.modRevision(outcome.gets().get(resources.size() + 1)));
                        if (fresh == null || !lane.usable(fresh, resources)) {
                            return lane.slowPath(again);
                        }
                        if (System.nanoTime() > deadline) {
                            return CompletableFuture.<Void>failedFuture(new EtcdUnavailableException("the counters of"
                                    + " account '" + account + "' stayed contended for " + opTimeout, null));
                        }
                        if (!lane.movedSince(seen, fresh, resources)) { // another part failed the transaction
                            return lane.commit(again, resources, fresh, limits, deadline);
                        }
                        return lane.lostRound(again, resources, fresh, limits, deadline);
                    })
                    .thenCompose(next -> next);
        });
    }
}
