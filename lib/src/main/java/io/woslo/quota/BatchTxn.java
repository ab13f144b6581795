package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.GetResponse;
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

    /** A batch on its way: what was planned on which view, and the entries it writes on {@code leaseId}. */
    private record Sent(List<BatchRequest> batch, List<BatchRequest> fits,
                        Map<BatchRequest, QuotaExceededException> refused, Set<String> resources, CounterView seen,
                        Map<String, Counter> working, Map<String, Long> limits, long deadline, long leaseId,
                        List<String> entries) {
    }

    /** Plans {@code batch} on {@code seen} and sends the requests that fit; refusals need a view etcd confirmed. */
    CompletableFuture<Void> commit(List<BatchRequest> batch, Set<String> resources, CounterView seen,
                                   Map<String, Long> limits, long deadline) {
        Map<String, Counter> working = new LinkedHashMap<>();
        resources.forEach(r -> working.put(r, seen.counters().get(r).counter()));
        QuotaArithmetic.Planned<BatchRequest> planned = QuotaArithmetic.planBatch(account, batch, BatchRequest::wanted,
                working, limits);
        if (planned.fits().isEmpty()) {
            if (!seen.confirmed()) { // refused on a remembered view: decide again on what etcd holds now
                return lane.readView().thenCompose(fresh -> fresh == null || !lane.usable(fresh, resources)
                        ? lane.slowPath(batch)
                        : lane.commit(batch, resources, fresh, limits, deadline));
            }
            planned.refused().forEach((r, e) -> r.result().completeExceptionally(e));
            return CompletableFuture.completedFuture(null);
        }
        return leases.lease().thenCompose(leaseId -> {
            List<String> entries = planned.fits().stream().map(r -> lane.entryKey(r, leaseId)).toList();
            return send(new Sent(batch, planned.fits(), planned.refused(), resources, seen, working, limits, deadline,
                    leaseId, entries));
        });
    }

    /**
     * The transaction: the counters compared and written, one read entry per fitting request, the account key
     * compared, and what the attachments add; its else branch reads the counters, the writers and the account key.
     */
    private CompletableFuture<Void> send(Sent sent) {
        List<Op> writes = new ArrayList<>();
        List<Cmp> compares = new ArrayList<>();
        List<Op> reads = new ArrayList<>();
        for (String resource : sent.resources()) {
            ByteSequence key = bytes(layout.quotaKey(account, resource));
            compares.add(new Cmp(key, Cmp.Op.EQUAL,
                    CmpTarget.modRevision(sent.seen().counters().get(resource).modRevision())));
            writes.add(Op.put(key, Json.write(sent.working().get(resource)), PutOption.DEFAULT));
            reads.add(Op.get(key, GetOption.DEFAULT));
        }
        PutOption onLease = PutOption.builder().withLeaseId(sent.leaseId()).build();
        sent.entries().forEach(entry -> writes.add(Op.put(bytes(entry), locks.readEntryValue(), onLease)));
        compares.add(locks.noWriterQueuedSince(account, sent.seen().accountRevision()));
        writes.add(lane.writersCount());
        reads.add(lane.writersCount());
        reads.add(lane.accountRead());
        Set<ByteSequence> claimed = new HashSet<>();
        for (int i = 0; i < sent.fits().size(); i++) {
            Attachment attachment = sent.fits().get(i).attachment();
            if (attachment != null) {
                compares.addAll(attachment.compares());
                writes.addAll(attachment.writes(sent.entries().get(i), sent.leaseId()));
                reads.addAll(attachment.reads());
            }
            claimed.addAll(sent.fits().get(i).claimed());
        }
        TxnCombiner.Submission txn = parts.combiner().submit(new TxnCombiner.Part(compares, writes, reads, claimed));
        return txn.outcome().handle((outcome, error) -> answered(sent, txn, outcome, error)).thenCompose(next -> next);
    }

    private CompletableFuture<Void> answered(Sent sent, TxnCombiner.Submission txn, TxnCombiner.Outcome outcome,
                                             Throwable error) {
        if (error != null) {
            if (Futures.isNotFound(error)) { // the shared lease is gone: take the slow path
                leases.discard(sent.leaseId());
                return lane.slowPath(sent.batch());
            }
            late.settle(txn.raw(), sent.fits(), sent.entries(), sent.leaseId(), sent.seen(), sent.resources());
            return lane.answerLost(sent.fits(), error);
        }
        if (outcome.succeeded()) {
            lane.granted(outcome.revision(), outcome.gets().get(0).getCount(), sent.seen().accountRevision(),
                    sent.fits(), sent.entries(), sent.working(), sent.leaseId());
            sent.refused().forEach((r, e) -> r.result().completeExceptionally(e));
            return CompletableFuture.completedFuture(null);
        }
        return failed(sent, outcome.gets());
    }

    /**
     * Our compares, or another part's in the same transaction, failed: requests whose own attachment failed get that
     * answer; the others are planned again on what the else branch read (unchanged counters simply go again).
     */
    private CompletableFuture<Void> failed(Sent sent, List<GetResponse> gets) {
        Set<String> resources = sent.resources();
        List<BatchRequest> again = BatchRequest.withoutFailedAttachments(sent.batch(), sent.fits(),
                gets.subList(resources.size() + 2, gets.size()));
        if (again.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        CounterView fresh = lane.see(sent.seen().withElse(resources, gets),
                gets.get(resources.size()).getCount(), CounterView.modRevision(gets.get(resources.size() + 1)));
        if (fresh == null || !lane.usable(fresh, resources)) {
            return lane.slowPath(again);
        }
        if (System.nanoTime() > sent.deadline()) {
            return CompletableFuture.failedFuture(new EtcdUnavailableException("the counters of"
                    + " account '" + account + "' stayed contended for " + opTimeout, null));
        }
        if (!sent.seen().movedSince(fresh, resources)) { // another part failed the transaction
            return lane.commit(again, resources, fresh, sent.limits(), sent.deadline());
        }
        return lane.lostRound(again, resources, fresh, sent.limits(), sent.deadline());
    }
}
