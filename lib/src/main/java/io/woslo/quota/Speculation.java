package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
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
import io.woslo.internal.VersionedCounter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A batch of an account whose counter other processes keep changing, planned on several states of that counter at
 * once and sent as ONE transaction of nested transactions (see {@link #speculate}).
 */
final class Speculation {
    /** Most states of a contended counter one speculative transaction plans for. */
    static final int MAX_SPECULATIONS = 16;

    private final Lane lane;
    private final LateLandings late;
    private final String account;
    private final KV kv;
    private final KeyLayout layout;
    private final AccountLock locks;
    private final LeasePool leases;
    private final Duration opTimeout;
    private final FastReservations.Parts parts;

    Speculation(Lane lane, FastReservations.Parts parts, LateLandings late) {
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

    /**
     * One state of a contended counter that a speculative transaction plans for: the counter as it would be
     * ({@code input}), what the batch makes of it ({@code output}), which requests fit and which are refused.
     */
    private record Level(String resource, Counter input, Counter output, List<BatchRequest> fits,
                         Map<BatchRequest, QuotaExceededException> refused) {
    }

    /**
     * A batch for an account whose counter other processes keep changing (it lost a round within the last
     * second), planned on several states of its one counter at once, in ONE transaction of nested transactions:
     * level 0 compares the counter as seen (its mod revision); level {@code j} compares the counter's VALUE with
     * the seen one plus {@code j} used; each also compares the account key, as every fast-path transaction does,
     * and writes the batch as planned on its state; its else branch is the next level; the last one's reads the
     * current state. So a batch sent while another process's batch lands
     * first still commits, on the state that other batch left, instead of failing and going again.
     *
     * <p>Comparing the value (not the mod revision) is sound because what a plan decides depends on nothing but
     * the value. Every level writes the lock entry of the batch's first request (each level is planned only where
     * that request fits), and compares it absent: a transaction whose answer was lost is withdrawn by writing that
     * entry first ({@link LateLandings#settleSpeculation}), which no value can undo.
     */
    CompletableFuture<Void> speculate(List<BatchRequest> batch, String resource, CounterView seen,
                                      Map<String, Long> limits, long deadline) {
        List<Level> levels = plan(batch, resource, seen, limits);
        if (levels.isEmpty()) { // nothing fits even as seen: the plain path decides (refusals need a fresh view)
            lane.notContended();
            return lane.commit(batch, Set.of(resource), seen, limits, deadline);
        }
        return leases.lease().thenCompose(leaseId -> {
            Map<BatchRequest, String> entries = new HashMap<>();
            batch.forEach(r -> entries.put(r, lane.entryKey(r, leaseId)));
            Sent sent = new Sent(batch, resource, seen, limits, deadline, levels, leaseId, entries,
                    entries.get(batch.get(0)));
            CompletableFuture<TxnResponse> raw = send(sent);
            return Futures.bounded(raw, opTimeout, "a reservation of account '" + account + "'")
                    .handle((response, error) -> answered(sent, raw, response, error))
                    .thenCompose(next -> next);
        });
    }

    /** A speculative batch on its way: its levels, its entries on {@code leaseId}, and its sentinel entry. */
    private record Sent(List<BatchRequest> batch, String resource, CounterView seen, Map<String, Long> limits,
                        long deadline, List<Level> levels, long leaseId, Map<BatchRequest, String> entries,
                        String sentinel) {
    }

    /**
     * The levels: the batch planned on the counter as seen plus {@code j} used, for each {@code j} on which the
     * batch's first request still fits, as many as one transaction's operations allow.
     */
    private List<Level> plan(List<BatchRequest> batch, String resource, CounterView seen, Map<String, Long> limits) {
        VersionedCounter base = seen.counters().get(resource);
        List<Level> levels = new ArrayList<>();
        int budget = TxnCombiner.MAX_OPS - 1 - (batch.size() * 2 + 4); // the last level's reads
        for (int j = 0; j < MAX_SPECULATIONS; j++) {
            Counter input = base.counter().withUsed(base.counter().used() + j);
            Map<String, Counter> working = new LinkedHashMap<>(Map.of(resource, input));
            QuotaArithmetic.Planned<BatchRequest> planned = QuotaArithmetic.planBatch(account, batch,
                    BatchRequest::wanted, working, limits);
            List<BatchRequest> fits = planned.fits();
            if (fits.isEmpty() || fits.get(0) != batch.get(0)) {
                break; // from here on the first request does not fit: decide on what etcd returns
            }
            int size = 4 + fits.stream().mapToInt(BatchRequest::weight).sum();
            if (size > budget) {
                break;
            }
            budget -= size;
            levels.add(new Level(resource, input, working.get(resource), fits, planned.refused()));
        }
        return levels;
    }

    /** The nested transaction, built from the last level up: each level's else branch is the next level. */
    private CompletableFuture<TxnResponse> send(Sent sent) {
        ByteSequence counterKey = bytes(layout.quotaKey(account, sent.resource()));
        PutOption onLease = PutOption.builder().withLeaseId(sent.leaseId()).build();
        List<Op> finalReads = new ArrayList<>(List.of(Op.get(counterKey, GetOption.DEFAULT), lane.writersCount(),
                lane.accountRead()));
        sent.batch().forEach(r -> {
            if (r.attachment() != null) {
                finalReads.addAll(r.attachment().reads());
            }
        });
        List<Level> levels = sent.levels();
        Op[] otherwise = finalReads.toArray(Op[]::new);
        for (int j = levels.size() - 1; j >= 1; j--) {
            otherwise = new Op[] {Op.txn(levelCompares(j, levels.get(j), counterKey, sent.sentinel(), sent.seen()),
                    levelWrites(levels.get(j), counterKey, sent.entries(), sent.leaseId(), onLease), otherwise)};
        }
        return kv.txn().If(levelCompares(0, levels.get(0), counterKey, sent.sentinel(), sent.seen()))
                .Then(levelWrites(levels.get(0), counterKey, sent.entries(), sent.leaseId(), onLease))
                .Else(otherwise)
                .commit();
    }

    private CompletableFuture<Void> answered(Sent sent, CompletableFuture<TxnResponse> raw, TxnResponse response,
                                             Throwable error) {
        if (error != null) {
            if (Futures.isNotFound(error)) { // the shared lease is gone: take the slow path
                leases.discard(sent.leaseId());
                return lane.slowPath(sent.batch());
            }
            late.settleSpeculation(raw, sent.batch(), sent.entries(), sent.sentinel(), sent.leaseId(),
                    sent.seen().accountRevision());
            return lane.answerLost(sent.batch(), error);
        }
        TxnResponse at = response;
        List<Level> levels = sent.levels();
        for (Level level : levels) {
            if (at.isSucceeded()) {
                if (level != levels.get(0)) {
                    parts.speculativeHits().increment();
                }
                List<String> granted = level.fits().stream().map(sent.entries()::get).toList();
                lane.granted(response.getHeader().getRevision(), at.getGetResponses().get(0).getCount(),
                        sent.seen().accountRevision(), level.fits(), granted,
                        Map.of(sent.resource(), level.output()), sent.leaseId());
                level.refused().forEach((r, e) -> r.result().completeExceptionally(e));
                return CompletableFuture.completedFuture(null);
            }
            if (level != levels.get(levels.size() - 1)) {
                at = at.getTxnResponses().get(0);
            }
        }
        return noLevelHeld(sent, at.getGetResponses());
    }

    /** No level held: plan again on what the last else branch read. */
    private CompletableFuture<Void> noLevelHeld(Sent sent, List<GetResponse> gets) {
        Set<String> resources = Set.of(sent.resource());
        List<BatchRequest> again = BatchRequest.withoutFailedAttachments(sent.batch(), sent.batch(),
                gets.subList(3, gets.size()));
        if (again.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        CounterView fresh = lane.see(sent.seen().withElse(resources, gets), gets.get(1).getCount(),
                CounterView.modRevision(gets.get(2)));
        if (fresh == null || !lane.usable(fresh, resources)) {
            return lane.slowPath(again);
        }
        if (System.nanoTime() > sent.deadline()) {
            return CompletableFuture.failedFuture(new EtcdUnavailableException("the counters of"
                    + " account '" + account + "' stayed contended for " + opTimeout, null));
        }
        return lane.lostRound(again, resources, fresh, sent.limits(), sent.deadline());
    }

    /**
     * What level {@code j} compares: the first, the counter as seen (its mod revision, as the plain path does);
     * the others, the counter's value.
     */
    private Cmp[] levelCompares(int j, Level level, ByteSequence counterKey, String sentinel, CounterView seen) {
        Cmp counter = j == 0
                ? new Cmp(counterKey, Cmp.Op.EQUAL, CmpTarget.modRevision(seen.counters().get(level.resource())
                        .modRevision()))
                : new Cmp(counterKey, Cmp.Op.EQUAL, CmpTarget.value(Json.write(level.input())));
        List<Cmp> compares = new ArrayList<>(List.of(counter,
                locks.noWriterQueuedSince(account, seen.accountRevision()),
                new Cmp(bytes(sentinel), Cmp.Op.EQUAL, CmpTarget.createRevision(0))));
        level.fits().stream().filter(r -> r.attachment() != null)
                .forEach(r -> compares.addAll(r.attachment().compares()));
        return compares.toArray(Cmp[]::new);
    }

    private Op[] levelWrites(Level level, ByteSequence counterKey, Map<BatchRequest, String> entries, long leaseId,
                             PutOption onLease) {
        List<Op> writes = new ArrayList<>(List.of(Op.put(counterKey, Json.write(level.output()), PutOption.DEFAULT)));
        for (BatchRequest request : level.fits()) {
            writes.add(Op.put(bytes(entries.get(request)), locks.readEntryValue(), onLease));
            if (request.attachment() != null) {
                writes.addAll(request.attachment().writes(entries.get(request), leaseId));
            }
        }
        writes.add(lane.writersCount());
        return writes.toArray(Op[]::new);
    }
}
