package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.woslo.internal.Acquisition;
import io.woslo.internal.Counter;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Futures;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.OutcomeUnknownException;
import io.woslo.internal.TxnCombiner;
import io.woslo.internal.VersionedCounter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One account's queue of fast-path reservations in this process: one transaction in flight at a time, the next
 * carrying up to {@link #MAX_BATCH} queued requests; the view of the counters that batches are planned on; the
 * hand-over of requests to the slow path; and the answers of a batch's requests.
 */
final class Lane {
    /** Reservations per transaction; with their counters and reads this stays under etcd's 128 operations. */
    static final int MAX_BATCH = 48;
    /** How long after another process won a round on an account its batches are sent speculatively. */
    private static final long CONTENDED_FOR_NANOS = TimeUnit.SECONDS.toNanos(1);
    /**
     * Largest batch sent speculatively. Every level repeats the batch's writes, so a big batch gets few levels, and
     * other processes' batches, as big, move the counter further than those levels reach: measured, speculating on
     * batches of ~20 cost more (larger transactions) than the rounds it saved.
     */
    static final int MAX_SPECULATIVE_BATCH = 8;

    final String account;
    private final ArrayDeque<BatchRequest> queue = new ArrayDeque<>();
    private boolean running; // guarded by this
    /** The counters as etcd last returned them (null: read them again). */
    private volatile CounterView view;
    /** When another process last won a round on this account's counters ({@link System#nanoTime()}). */
    private volatile long lastConflictNanos = System.nanoTime() - CONTENDED_FOR_NANOS;
    /** Completes when no transaction of this lane has an outcome still unknown ({@link LateLandings}). */
    volatile CompletableFuture<Void> settled = CompletableFuture.completedFuture(null);

    private final FastReservations.Parts parts;
    private final KV kv;
    private final KeyLayout layout;
    private final AccountLock locks;
    private final Duration opTimeout;
    private final QuotaArithmetic arithmetic;
    private final BatchTxn plain;
    private final Speculation speculation;

    Lane(String account, FastReservations.Parts parts) {
        this.account = account;
        this.parts = parts;
        this.kv = parts.kv();
        this.layout = parts.layout();
        this.locks = parts.locks();
        this.opTimeout = parts.opTimeout();
        this.arithmetic = parts.arithmetic();
        LateLandings late = new LateLandings(this, parts);
        this.plain = new BatchTxn(this, parts, late);
        this.speculation = new Speculation(this, parts, late);
    }

    void submit(BatchRequest request) {
        synchronized (this) {
            queue.add(request);
            if (running) {
                return;
            }
            running = true;
        }
        drain();
    }

    void drain() {
        List<BatchRequest> batch = new ArrayList<>();
        Set<String> resources = new LinkedHashSet<>();
        int weight = 0;
        Set<ByteSequence> claimed = new HashSet<>();
        synchronized (this) {
            // Each request's entry and attachment, plus one write per counter and two reads: keep within etcd's
            // 128 operations per branch. Duplicates claiming one idempotency key go in separate transactions
            // (the later ones then find the key taken and answer the first outcome).
            while (!queue.isEmpty() && batch.size() < MAX_BATCH) {
                Set<String> union = new LinkedHashSet<>(resources);
                union.addAll(queue.peek().wanted().keySet());
                int next = weight + queue.peek().weight();
                if (!batch.isEmpty() && (union.size() + next + 2 > TxnCombiner.MAX_OPS
                        || queue.peek().claimed().stream().anyMatch(claimed::contains))) {
                    break;
                }
                resources.addAll(union);
                weight = next;
                claimed.addAll(queue.peek().claimed());
                batch.add(queue.poll());
            }
        }
        if (resources.size() + weight + 2 > TxnCombiner.MAX_OPS) { // one huge request: the slow path
            slowPath(batch);
            next();
            return;
        }
        long deadline = System.nanoTime() + opTimeout.toNanos();
        afterSettled().thenCompose(ignored -> {
                    CounterView known = view;
                    // A remembered view that is unusable (a counter older than the cache TTL) is dropped and
                    // read again: the slow path may have refreshed it since.
                    return known != null && usable(known, resources)
                            ? CompletableFuture.completedFuture(known)
                            : readView();
                })
                .thenCompose(seen -> {
                    if (seen == null || !usable(seen, resources)) {
                        return slowPath(batch);
                    }
                    return parts.handlers().quotas(account, resources)
                            .thenCompose(limits -> commit(batch, resources, seen, limits, deadline));
                })
                .whenComplete((v, error) -> {
                    if (error != null) {
                        Throwable cause = Futures.unwrap(error);
                        batch.forEach(r -> r.result().completeExceptionally(cause));
                    }
                    next();
                });
    }

    /** Waits, at most the operation timeout, until no earlier transaction's outcome is unknown. */
    CompletableFuture<Void> afterSettled() {
        CompletableFuture<Void> pending = settled;
        if (pending.isDone()) {
            return pending;
        }
        return pending.thenApply(v -> v).orTimeout(opTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .exceptionallyCompose(e -> CompletableFuture.failedFuture(new EtcdUnavailableException("an earlier"
                        + " reservation of account '" + account + "' has an outcome etcd has not confirmed yet", e)));
    }

    /**
     * Sends {@code batch}, planned on {@code seen}: speculatively when another process won a round on this account
     * within the last second and the batch is small and of one resource ({@link Speculation}), else plainly
     * ({@link BatchTxn}).
     */
    CompletableFuture<Void> commit(List<BatchRequest> batch, Set<String> resources, CounterView seen,
                                   Map<String, Long> limits, long deadline) {
        if (resources.size() == 1 && batch.size() <= MAX_SPECULATIVE_BATCH
                && System.nanoTime() - lastConflictNanos < CONTENDED_FOR_NANOS) {
            return speculation.speculate(batch, resources.iterator().next(), seen, limits, deadline);
        }
        return plain.commit(batch, resources, seen, limits, deadline);
    }

    /** Sends the next batches plainly until another round is lost. */
    void notContended() {
        lastConflictNanos = System.nanoTime() - CONTENDED_FOR_NANOS;
    }

    /** Drops the remembered view: the next batch reads the counters again. */
    void forget() {
        view = null;
    }

    void next() {
        synchronized (this) {
            if (queue.isEmpty()) {
                running = false;
                return;
            }
        }
        drain();
    }

    boolean usable(CounterView seen, Set<String> resources) {
        for (String resource : resources) {
            VersionedCounter counter = seen.counters().get(resource);
            if (counter == null || !counter.exists() || arithmetic.isStale(counter.counter())) {
                return false;
            }
        }
        return true;
    }

    CompletableFuture<Void> slowPath(List<BatchRequest> batch) {
        parts.handedOver().add(batch.size());
        batch.forEach(r -> r.result().complete(null));
        return CompletableFuture.completedFuture(null);
    }

    /** One read of the account's counters and writers: the view, or null while a writer is queued. */
    CompletableFuture<CounterView> readView() {
        CompletableFuture<TxnResponse> txn = kv.txn().Then(
                Op.get(bytes(layout.quotaPrefix(account)), GetOption.builder().isPrefix(true).build()),
                writersCount(), accountRead()).commit();
        return Futures.bounded(txn, opTimeout, "a read of account '" + account + "'")
                .thenApply(response -> see(CounterView.allCounters(layout, account, response.getGetResponses().get(0)),
                        response.getGetResponses().get(1).getCount(),
                        CounterView.modRevision(response.getGetResponses().get(2))));
    }

    /** Remembers what etcd just returned for later batches, and returns it as confirmed for this one. */
    CounterView see(Map<String, VersionedCounter> counters, long writers, long accountRevision) {
        if (writers > 0) {
            view = null;
            return null;
        }
        view = new CounterView(counters, accountRevision, false);
        return new CounterView(counters, accountRevision, true);
    }

    Op accountRead() {
        return locks.accountRead(account);
    }

    Op writersCount() {
        return locks.writersCount(account);
    }

    /** The lock entry a request creates: named by its attachment, or a new name on {@code leaseId}. */
    String entryKey(BatchRequest request, long leaseId) {
        String name = request.attachment() == null ? null : request.attachment().entryName();
        return name != null ? locks.namedEntryKey(account, name) : locks.newReadEntryKey(account, leaseId);
    }

    /**
     * Another process won this round on the account. Requests that arrived meanwhile join the retry: a collision
     * makes the next transaction carry more, not adds one.
     */
    CompletableFuture<Void> lostRound(List<BatchRequest> again, Set<String> resources, CounterView fresh,
                                      Map<String, Long> limits, long deadline) {
        parts.conflicts().increment();
        lastConflictNanos = System.nanoTime();
        List<BatchRequest> joined = joinQueued(again, resources);
        return commit(joined, resources, fresh, limits, deadline).whenComplete((v, failed) -> {
            if (failed != null) { // the lane fails the batch it drained; the joined requests too
                joined.forEach(r -> r.result().completeExceptionally(Futures.unwrap(failed)));
            }
        });
    }

    /**
     * A transaction whose answer did not come in time (it is being settled): requests kept when lost are told the
     * outcome is unknown; the others fail "not applied" with the batch.
     */
    CompletableFuture<Void> answerLost(List<BatchRequest> requests, Throwable error) {
        Throwable cause = Futures.unwrap(error);
        requests.stream().filter(BatchRequest::keptWhenLost).forEach(r -> r.result().completeExceptionally(
                new OutcomeUnknownException("etcd did not answer a reservation of account '" + account
                        + "' in time; it may have been applied", cause)));
        return CompletableFuture.failedFuture(cause);
    }

    /**
     * {@code again} with the requests queued meanwhile that fit the same transaction (their resources among
     * {@code resources}, within the batch and operation limits, no idempotency key shared), taken off the queue.
     */
    List<BatchRequest> joinQueued(List<BatchRequest> again, Set<String> resources) {
        List<BatchRequest> joined = new ArrayList<>(again);
        int weight = joined.stream().mapToInt(BatchRequest::weight).sum();
        Set<ByteSequence> claimed = new HashSet<>();
        joined.forEach(r -> claimed.addAll(r.claimed()));
        synchronized (this) {
            for (Iterator<BatchRequest> it = queue.iterator(); it.hasNext() && joined.size() < MAX_BATCH; ) {
                BatchRequest next = it.next();
                if (resources.containsAll(next.wanted().keySet())
                        && resources.size() + weight + next.weight() + 2 <= TxnCombiner.MAX_OPS
                        && next.claimed().stream().noneMatch(claimed::contains)) {
                    it.remove();
                    joined.add(next);
                    weight += next.weight();
                    claimed.addAll(next.claimed());
                }
            }
        }
        return joined;
    }

    void granted(long revision, long writers, long accountRevision, List<BatchRequest> fits, List<String> entries,
                 Map<String, Counter> working, long leaseId) {
        Map<String, VersionedCounter> counters = new HashMap<>(view == null ? Map.of() : view.counters());
        working.forEach((resource, counter) -> counters.put(resource, new VersionedCounter(counter, revision)));
        see(counters, writers, accountRevision);
        long now = arithmetic.nowMillis();
        for (int i = 0; i < fits.size(); i++) {
            Acquisition lock = locks.readEntry(account, entries.get(i), leaseId, revision);
            locks.grantedOnFastPath();
            fits.get(i).result().complete(new Reserved(account, fits.get(i).wanted(), lock, now));
        }
    }
}
