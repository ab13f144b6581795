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
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.Acquisition;
import io.woslo.internal.Counter;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyHistory;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LeasePool;
import io.woslo.internal.OutcomeUnknownException;
import io.woslo.internal.TxnCombiner;
import io.woslo.internal.VersionedCounter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The fast path of {@link QuotaManager#prepareOccupying}: the account's read-lock entry and the counter update in
 * ONE transaction, and concurrent reservations of one account in this process coalesced into that transaction.
 *
 * <p><b>Why it is safe.</b> Taking a read lock means no writer queued before the reader. Every writer of an account's
 * lock (a refresh) rewrites the account's index key ({@code <ns>/accounts/<account>}) in the transaction that queues
 * it (see {@link AccountLock}). This path reads the counters, the writers' entries and that key's mod
 * revision in one snapshot, and its transaction compares the counters' and the key's mod revisions. If it commits,
 * the key did not change since that look, hence no writer queued since, and none was queued at the look: the
 * reader's entry is queued with no writer before it, exactly as the lock engine would have granted it. (Comparing
 * one key per account, rather than the counters a writer saw, also covers a counter created after the writer read
 * the account.) If the compare fails, the transaction's else branch returns the current counters, writers and key,
 * and the batch is planned again on them. When a writer is queued, or a counter is missing or stale, requests go to
 * the slow path (lock, read, refresh if free, fenced compare-and-swap), which waits for the writer as the lock
 * requires.
 *
 * <p><b>Coalescing.</b> While one transaction for an account is in flight, further reservations of that account
 * queue in this process; the next transaction carries up to {@link #MAX_BATCH} of them, each with its own lock
 * entry and its own outcome: requests are planned in arrival order, each all-or-nothing, and one that does not fit
 * is refused with the figures it saw. Entries live on a shared lease from a {@link LeasePool}, so no lease grant is
 * made per reservation; closing one deletes its entry (grouped with other deletes in flight).
 */
final class FastReservations {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FastReservations.class);
    /** Reservations per transaction; with their counters and reads this stays under etcd's 128 operations. */
    static final int MAX_BATCH = 48;
    /** How often, and how far apart, the settlement of a lost answer is tried before a refresh is left to fix it. */
    private static final int SETTLE_ATTEMPTS = 10;
    private static final Duration SETTLE_PAUSE = Duration.ofMillis(500);
    /** How long after another process won a round on an account its batches are sent speculatively. */
    private static final long CONTENDED_FOR_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
    /** Most states of a contended counter one speculative transaction plans for. */
    static final int MAX_SPECULATIONS = 16;
    /**
     * Largest batch sent speculatively. Every level repeats the batch's writes, so a big batch gets few levels, and
     * other processes' batches, as big, move the counter further than those levels reach: measured, speculating on
     * batches of ~20 cost more (larger transactions) than the rounds it saved.
     */
    static final int MAX_SPECULATIVE_BATCH = 8;
    /** The value of a speculative transaction's sentinel entry written by its withdrawal, never by the transaction. */
    private static final ByteSequence WITHDRAWN = Json.write(Map.of("withdrawn", true));

    private final KV kv;
    private final KeyLayout layout;
    private final Watch watches;
    private final AccountLock locks;
    private final QuotaArithmetic arithmetic;
    private final Handlers handlers;
    private final Releases releases;
    private final java.util.concurrent.atomic.LongAdder conflicts;
    private final LeasePool leases;
    private final Duration opTimeout;
    private final Duration leaseTime;
    private final ConcurrentHashMap<String, Lane> lanes = new ConcurrentHashMap<>();
    private final TxnCombiner combiner;
    /** Requests this path handed to the slow path: tests see whether an account stays off the fast path. */
    private final java.util.concurrent.atomic.LongAdder handedOver = new java.util.concurrent.atomic.LongAdder();
    /** Speculative batches that committed on a level above 0: tests see that speculation happens. */
    private final java.util.concurrent.atomic.LongAdder speculativeHits = new java.util.concurrent.atomic.LongAdder();

    FastReservations(io.etcd.jetcd.Client client, KeyLayout layout, AccountLock locks, TxnCombiner combiner,
                     Duration opTimeout, Duration leaseTime, QuotaArithmetic arithmetic, Handlers handlers,
                     Releases releases, java.util.concurrent.atomic.LongAdder conflicts) {
        this.kv = client.getKVClient();
        this.watches = client.getWatchClient();
        this.layout = layout;
        this.locks = locks;
        this.arithmetic = arithmetic;
        this.handlers = handlers;
        this.releases = releases;
        this.conflicts = conflicts;
        this.leases = new LeasePool(client.getLeaseClient(), leaseTime, opTimeout);
        this.opTimeout = opTimeout;
        this.leaseTime = leaseTime;
        this.combiner = combiner;
    }

    /**
     * Reserves on the fast path. Completes with the reservation, with {@code null} when the slow path must take
     * the request, or exceptionally ({@link QuotaExceededException}, {@link EtcdUnavailableException}).
     */
    CompletableFuture<Reserved> reserve(String account, Map<String, Long> wanted) {
        return reserve(account, wanted, null);
    }

    /** {@link #reserve(String, Map)} with more writes in the same transaction ({@code attachment}, may be null). */
    CompletableFuture<Reserved> reserve(String account, Map<String, Long> wanted, Attachment attachment) {
        Request request = new Request(wanted, new CompletableFuture<>(), attachment);
        lanes.computeIfAbsent(account, Lane::new).submit(request);
        return request.result();
    }

    /** How many batches committed on a counter state other than the one seen (a speculative level above 0). */
    long speculativeHits() {
        return speculativeHits.sum();
    }

    /** How many requests went to the slow path since this was built. */
    long handedToSlowPath() {
        return handedOver.sum();
    }

    private record Request(Map<String, Long> wanted, CompletableFuture<Reserved> result,
                           Attachment attachment) {
        /** Operations of the then branch: the lock entry and what the attachment writes. */
        int weight() {
            return 1 + (attachment == null ? 0 : attachment.size());
        }

        boolean keptWhenLost() {
            return attachment != null && attachment.keptWhenLost();
        }

        Set<ByteSequence> claimed() {
            return attachment == null ? Set.of() : attachment.claimed();
        }
    }

    /**
     * The counters of an account as last seen, with no writer queued at that time.
     *
     * @param accountRevision the mod revision of the account's index key ({@code <ns>/accounts/<account>}, 0 when
     *                        absent) at the time: every writer rewrites it as it queues, so a commit that compares it
     *                        knows no writer queued since
     * @param confirmed whether etcd returned them during the current batch: only such a view may refuse a request
     *                  (releases never update a lane's remembered view, so a remembered one may show too much used)
     */
    private record View(Map<String, VersionedCounter> counters, long accountRevision, boolean confirmed) {
    }

    /** One account's queue of reservations; one transaction in flight at a time. */
    private final class Lane {
        final String account;
        final ArrayDeque<Request> queue = new ArrayDeque<>();
        boolean running; // guarded by this
        volatile View view;
        /** When another process last won a round on this account's counters ({@link System#nanoTime()}). */
        volatile long lastConflictNanos = System.nanoTime() - CONTENDED_FOR_NANOS;
        /** Completes when no transaction of this lane has an outcome still unknown. */
        volatile CompletableFuture<Void> settled = CompletableFuture.completedFuture(null);

        Lane(String account) {
            this.account = account;
        }

        void submit(Request request) {
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
            List<Request> batch = new ArrayList<>();
            Set<String> resources = new LinkedHashSet<>();
            int weight = 0;
            Set<ByteSequence> claimed = new java.util.HashSet<>();
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
                        View known = view;
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
                        return handlers.quotas(account, resources)
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
            return pending.thenApply(v -> v).orTimeout(opTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                    .exceptionallyCompose(e -> CompletableFuture.failedFuture(new EtcdUnavailableException("an earlier"
                            + " reservation of account '" + account + "' has an outcome etcd has not confirmed yet", e)));
        }

        /**
         * A transaction whose answer did not come in time may still land: jetcd holds calls made while etcd is
         * unreachable and sends them when it is back. Its callers were told it failed, so if it lands, or landed,
         * its effect is undone: amounts given back, entries (and what attachments wrote) deleted; requests kept when
         * lost ({@link Attachment#keptWhenLost}) stay as they landed. Until that is settled, this lane takes no new
         * batch, so nothing in this process observes the phantom.
         */
        void settle(CompletableFuture<TxnResponse> txn, List<Request> fits, List<String> entries, long leaseId,
                    View compared, Set<String> resources) {
            view = null;
            long failedAt = arithmetic.nowMillis();
            Map<String, Long> amounts = new LinkedHashMap<>();
            List<String> undoneEntries = new ArrayList<>();
            List<Op> undoOps = new ArrayList<>();
            for (int i = 0; i < fits.size(); i++) {
                Request request = fits.get(i);
                if (request.keptWhenLost()) {
                    continue;
                }
                request.wanted().forEach((resource, amount) -> amounts.merge(resource, amount, Long::sum));
                undoneEntries.add(entries.get(i));
                if (request.attachment() != null) {
                    undoOps.addAll(request.attachment().undo());
                }
            }
            // Wait for jetcd's own answer a while (it sends a call it held once etcd is back); then settle it in etcd.
            settled = txn.copy().orTimeout(opTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                    .handle((response, error) -> response)
                    .thenCompose(response -> response != null
                            ? CompletableFuture.completedFuture(response.isSucceeded() ? response.getHeader().getRevision() : 0L)
                            : Futures.retry(() -> withdraw(entries.get(0), compared, resources), SETTLE_ATTEMPTS,
                                    SETTLE_PAUSE, e -> e instanceof EtcdUnavailableException))
                    .thenCompose(revision -> {
                        if (revision == 0 || undoneEntries.isEmpty()) {
                            return CompletableFuture.<Void>completedFuture(null);
                        }
                        LOG.warn("a reservation of account '{}' reported as failed reached etcd late; undoing it", account);
                        // Fenced by an entry that landed with it; counters refreshed since the failure already
                        // show the truth and are left alone.
                        Acquisition landed = locks.readEntry(account, undoneEntries.get(0), leaseId, revision);
                        return releases.undoLate(account, amounts, failedAt, landed)
                                .thenCompose(v -> undoOps.isEmpty()
                                        ? CompletableFuture.<Void>completedFuture(null)
                                        : Futures.bounded(kv.txn().Then(undoOps.toArray(Op[]::new)).commit(),
                                                opTimeout, "the undo of a late reservation's records")
                                        .thenApply(r -> (Void) null))
                                .thenCompose(v -> CompletableFuture.allOf(undoneEntries.stream()
                                        .map(e -> locks.releaseEntry(locks.readEntry(account, e, leaseId, revision)))
                                        .toArray(CompletableFuture[]::new)));
                    })
                    .exceptionally(e -> {
                        LOG.error("could not settle a late reservation of account '{}'; a refresh will correct its"
                                + " counters: {}", account, Futures.unwrap(e).toString());
                        return null;
                    });
        }

        /**
         * Settles a transaction whose answer never came: completes with the revision it landed at (its first entry's
         * create revision), or 0 once it is sure never to land. One guarded transaction tells and settles, on what
         * the lost transaction compared: if every counter still has the mod revision it compared, it has not landed,
         * and the counters are rewritten as they are (a new mod revision), so that it never can. Otherwise its entry
         * tells: present, it landed; absent (its lease may have ended since), etcd's history tells whether the entry
         * existed at the first change of the counters after the view, which is where it would have landed.
         */
        CompletableFuture<Long> withdraw(String entry, View compared, Set<String> resources) {
            ByteSequence entryKey = bytes(entry);
            List<Cmp> unchanged = new ArrayList<>();
            List<Op> rewrites = new ArrayList<>();
            for (String resource : resources) {
                VersionedCounter counter = compared.counters().get(resource);
                ByteSequence key = bytes(layout.quotaKey(account, resource));
                unchanged.add(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(counter.modRevision())));
                rewrites.add(Op.put(key, Json.write(counter.counter()), PutOption.DEFAULT));
            }
            CompletableFuture<TxnResponse> txn = kv.txn().If(unchanged.toArray(Cmp[]::new))
                    .Then(rewrites.toArray(Op[]::new))
                    .Else(Op.get(entryKey, GetOption.builder().withKeysOnly(true).build()))
                    .commit();
            return Futures.bounded(txn, opTimeout,
                            "the settlement of a reservation of account '" + account + "'")
                    .thenCompose(response -> {
                        if (response.isSucceeded()) {
                            return CompletableFuture.completedFuture(0L); // withdrawn: it can never land now
                        }
                        List<KeyValue> landed = response.getGetResponses().get(0).getKvs();
                        if (!landed.isEmpty()) {
                            return CompletableFuture.completedFuture(landed.get(0).getCreateRevision());
                        }
                        // The counters moved and the entry is gone (its lease may have ended): had the transaction
                        // landed, it would have been the first change of its counters after the view it compared,
                        // and its entry would exist at that revision. etcd's history tells.
                        String resource = resources.iterator().next();
                        return firstChangeAfter(layout.quotaKey(account, resource),
                                compared.counters().get(resource).modRevision())
                                .thenCompose(revision -> Futures.bounded(kv.get(entryKey, GetOption.builder()
                                                .withRevision(revision).withKeysOnly(true).build()), opTimeout,
                                        "a read of a reservation's entry at revision " + revision)
                                        .thenApply(atThatRevision -> atThatRevision.getKvs().isEmpty() ? 0L : revision));
                    });
        }

        /** The revision of the first change of {@code key} after {@code revision}, from etcd's history. */
        CompletableFuture<Long> firstChangeAfter(String key, long revision) {
            return KeyHistory.first(watches, bytes(key), revision,
                    event -> java.util.Optional.of(event.getKeyValue().getModRevision()), opTimeout,
                    "a read of the history of " + key);
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

        boolean usable(View seen, Set<String> resources) {
            for (String resource : resources) {
                VersionedCounter counter = seen.counters().get(resource);
                if (counter == null || !counter.exists() || arithmetic.isStale(counter.counter())) {
                    return false;
                }
            }
            return true;
        }

        CompletableFuture<Void> slowPath(List<Request> batch) {
            handedOver.add(batch.size());
            batch.forEach(r -> r.result().complete(null));
            return CompletableFuture.completedFuture(null);
        }

        /** One read of the account's counters and writers: the view, or null while a writer is queued. */
        CompletableFuture<View> readView() {
            CompletableFuture<TxnResponse> txn = kv.txn().Then(
                    Op.get(bytes(layout.quotaPrefix(account)), GetOption.builder().isPrefix(true).build()),
                    writersCount(), accountRead()).commit();
            return Futures.bounded(txn, opTimeout, "a read of account '" + account + "'")
                    .thenApply(response -> see(allCounters(response.getGetResponses().get(0)),
                            response.getGetResponses().get(1).getCount(), modRevision(response.getGetResponses().get(2))));
        }

        /** Remembers what etcd just returned for later batches, and returns it as confirmed for this one. */
        View see(Map<String, VersionedCounter> counters, long writers, long accountRevision) {
            if (writers > 0) {
                view = null;
                return null;
            }
            view = new View(counters, accountRevision, false);
            return new View(counters, accountRevision, true);
        }

        Op accountRead() {
            return locks.accountRead(account);
        }

        Op writersCount() {
            return locks.writersCount(account);
        }

        CompletableFuture<Void> commit(List<Request> batch, Set<String> resources, View seen, Map<String, Long> limits,
                                       long deadline) {
            if (resources.size() == 1 && batch.size() <= MAX_SPECULATIVE_BATCH
                    && System.nanoTime() - lastConflictNanos < CONTENDED_FOR_NANOS) {
                return speculate(batch, resources.iterator().next(), seen, limits, deadline);
            }
            Map<String, Counter> working = new LinkedHashMap<>();
            resources.forEach(r -> working.put(r, seen.counters().get(r).counter()));
            QuotaArithmetic.Planned<Request> planned = QuotaArithmetic.planBatch(account, batch, Request::wanted,
                    working, limits);
            List<Request> fits = planned.fits();
            Map<Request, QuotaExceededException> refused = planned.refused();
            if (fits.isEmpty()) {
                if (!seen.confirmed()) { // refused on a remembered view: decide again on what etcd holds now
                    return readView().thenCompose(fresh -> fresh == null || !usable(fresh, resources)
                            ? slowPath(batch)
                            : commit(batch, resources, fresh, limits, deadline));
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
                for (Request request : fits) {
                    String entry = entryKey(request, leaseId);
                    entries.add(entry);
                    writes.add(Op.put(bytes(entry), locks.readEntryValue(), onLease));
                }
                compares.add(locks.noWriterQueuedSince(account, seen.accountRevision()));
                writes.add(writersCount());
                reads.add(writersCount());
                reads.add(accountRead());
                for (int i = 0; i < fits.size(); i++) {
                    Attachment attachment = fits.get(i).attachment();
                    if (attachment != null) {
                        compares.addAll(attachment.compares());
                        writes.addAll(attachment.writes(entries.get(i), leaseId));
                        reads.addAll(attachment.reads());
                    }
                }
                Set<ByteSequence> claimed = new java.util.HashSet<>();
                fits.forEach(r -> claimed.addAll(r.claimed()));
                TxnCombiner.Submission txn = combiner.submit(new TxnCombiner.Part(compares, writes, reads, claimed));
                return txn.outcome()
                        .handle((outcome, error) -> {
                            if (error != null) {
                                if (Futures.isNotFound(error)) { // the shared lease is gone: take the slow path
                                    leases.discard(leaseId);
                                    return slowPath(batch);
                                }
                                settle(txn.raw(), fits, entries, leaseId, seen, resources);
                                return answerLost(fits, error);
                            }
                            if (outcome.succeeded()) {
                                granted(outcome.revision(), outcome.gets().get(0).getCount(), seen.accountRevision(),
                                        fits, entries, working, leaseId);
                                refused.forEach((r, e) -> r.result().completeExceptionally(e));
                                return CompletableFuture.<Void>completedFuture(null);
                            }
                            // Our compares, or another part's in the same transaction, failed: requests whose own
                            // attachment failed get that answer; the others are planned again on what the else branch
                            // read (unchanged counters simply go again).
                            List<Request> again = withoutFailedAttachments(batch, fits,
                                    outcome.gets().subList(resources.size() + 2, outcome.gets().size()));
                            if (again.isEmpty()) {
                                return CompletableFuture.<Void>completedFuture(null);
                            }
                            View fresh = see(fromElse(resources, seen, outcome.gets()),
                                    outcome.gets().get(resources.size()).getCount(),
                                    modRevision(outcome.gets().get(resources.size() + 1)));
                            if (fresh == null || !usable(fresh, resources)) {
                                return slowPath(again);
                            }
                            if (System.nanoTime() > deadline) {
                                return CompletableFuture.<Void>failedFuture(new EtcdUnavailableException("the counters of"
                                        + " account '" + account + "' stayed contended for " + opTimeout, null));
                            }
                            if (!movedSince(seen, fresh, resources)) { // another part failed the transaction
                                return commit(again, resources, fresh, limits, deadline);
                            }
                            return lostRound(again, resources, fresh, limits, deadline);
                        })
                        .thenCompose(next -> next);
            });
        }

        /**
         * One state of a contended counter that a speculative transaction plans for: the counter as it would be
         * ({@code input}), what the batch makes of it ({@code output}), which requests fit and which are refused.
         */
        private record Level(String resource, Counter input, Counter output, List<Request> fits,
                             Map<Request, QuotaExceededException> refused) {
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
         * entry first ({@link #settleSpeculation}), which no value can undo.
         */
        CompletableFuture<Void> speculate(List<Request> batch, String resource, View seen, Map<String, Long> limits,
                                          long deadline) {
            VersionedCounter base = seen.counters().get(resource);
            List<Level> levels = new ArrayList<>();
            int budget = TxnCombiner.MAX_OPS - 1 - (batch.size() * 2 + 4); // the last level's reads
            for (int j = 0; j < MAX_SPECULATIONS; j++) {
                Counter input = base.counter().withUsed(base.counter().used() + j);
                Map<String, Counter> working = new LinkedHashMap<>(Map.of(resource, input));
                QuotaArithmetic.Planned<Request> planned = QuotaArithmetic.planBatch(account, batch, Request::wanted,
                        working, limits);
                List<Request> fits = planned.fits();
                if (fits.isEmpty() || fits.get(0) != batch.get(0)) {
                    break; // from here on the first request does not fit: decide on what etcd returns
                }
                int size = 4 + fits.stream().mapToInt(Request::weight).sum();
                if (size > budget) {
                    break;
                }
                budget -= size;
                levels.add(new Level(resource, input, working.get(resource), fits, planned.refused()));
            }
            if (levels.isEmpty()) { // nothing fits even as seen: the plain path decides (refusals need a fresh view)
                lastConflictNanos = System.nanoTime() - CONTENDED_FOR_NANOS;
                return commit(batch, Set.of(resource), seen, limits, deadline);
            }
            return leases.lease().thenCompose(leaseId -> {
                Map<Request, String> entries = new HashMap<>();
                batch.forEach(r -> entries.put(r, entryKey(r, leaseId)));
                String sentinel = entries.get(batch.get(0));
                ByteSequence counterKey = bytes(layout.quotaKey(account, resource));
                PutOption onLease = PutOption.builder().withLeaseId(leaseId).build();
                List<Op> finalReads = new ArrayList<>(List.of(Op.get(counterKey, GetOption.DEFAULT), writersCount(),
                        accountRead()));
                batch.forEach(r -> {
                    if (r.attachment() != null) {
                        finalReads.addAll(r.attachment().reads());
                    }
                });
                // Built from the last level up: each level's else branch is the next level.
                Op[] otherwise = finalReads.toArray(Op[]::new);
                for (int j = levels.size() - 1; j >= 1; j--) {
                    otherwise = new Op[] {Op.txn(levelCompares(j, levels.get(j), counterKey, sentinel, seen),
                            levelWrites(levels.get(j), counterKey, entries, leaseId, onLease), otherwise)};
                }
                Cmp[] outerCompares = levelCompares(0, levels.get(0), counterKey, sentinel, seen);
                Op[] outerThen = levelWrites(levels.get(0), counterKey, entries, leaseId, onLease);
                Op[] outerElse = otherwise;
                CompletableFuture<TxnResponse> raw = kv.txn().If(outerCompares).Then(outerThen).Else(outerElse)
                        .commit();
                return Futures.bounded(raw, opTimeout, "a reservation of account '" + account + "'")
                        .handle((response, error) -> {
                            if (error != null) {
                                if (Futures.isNotFound(error)) { // the shared lease is gone: take the slow path
                                    leases.discard(leaseId);
                                    return slowPath(batch);
                                }
                                settleSpeculation(raw, batch, entries, sentinel, leaseId, seen.accountRevision());
                                return answerLost(batch, error);
                            }
                            TxnResponse at = response;
                            for (Level level : levels) {
                                if (at.isSucceeded()) {
                                    if (level != levels.get(0)) {
                                        speculativeHits.increment();
                                    }
                                    List<String> granted = level.fits().stream().map(entries::get).toList();
                                    granted(response.getHeader().getRevision(), at.getGetResponses().get(0).getCount(),
                                            seen.accountRevision(), level.fits(), granted,
                                            Map.of(resource, level.output()), leaseId);
                                    level.refused().forEach((r, e) -> r.result().completeExceptionally(e));
                                    return CompletableFuture.<Void>completedFuture(null);
                                }
                                if (level != levels.get(levels.size() - 1)) {
                                    at = at.getTxnResponses().get(0);
                                }
                            }
                            // No level held: plan again on what the last else branch read.
                            List<GetResponse> gets = at.getGetResponses();
                            List<Request> again = withoutFailedAttachments(batch, batch, gets.subList(3, gets.size()));
                            if (again.isEmpty()) {
                                return CompletableFuture.<Void>completedFuture(null);
                            }
                            View fresh = see(fromElse(Set.of(resource), seen, gets), gets.get(1).getCount(),
                                    modRevision(gets.get(2)));
                            if (fresh == null || !usable(fresh, Set.of(resource))) {
                                return slowPath(again);
                            }
                            if (System.nanoTime() > deadline) {
                                return CompletableFuture.<Void>failedFuture(new EtcdUnavailableException("the counters of"
                                        + " account '" + account + "' stayed contended for " + opTimeout, null));
                            }
                            return lostRound(again, Set.of(resource), fresh, limits, deadline);
                        })
                        .thenCompose(next -> next);
            });
        }

        /**
         * What level {@code j} compares: the first, the counter as seen (its mod revision, as the plain path does);
         * the others, the counter's value.
         */
        private Cmp[] levelCompares(int j, Level level, ByteSequence counterKey, String sentinel, View seen) {
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

        private Op[] levelWrites(Level level, ByteSequence counterKey, Map<Request, String> entries, long leaseId,
                                 PutOption onLease) {
            List<Op> writes = new ArrayList<>(List.of(Op.put(counterKey, Json.write(level.output()), PutOption.DEFAULT)));
            for (Request request : level.fits()) {
                writes.add(Op.put(bytes(entries.get(request)), locks.readEntryValue(), onLease));
                if (request.attachment() != null) {
                    writes.addAll(request.attachment().writes(entries.get(request), leaseId));
                }
            }
            writes.add(writersCount());
            return writes.toArray(Op[]::new);
        }

        /**
         * A speculative transaction whose answer did not come in time: withdrawn ({@link #withdrawSpeculation}), or,
         * if it landed, the requests whose entries existed at the revision it landed at are undone (those kept when
         * lost stay), as {@link #settle} does for a plain transaction. Until then the lane waits.
         */
        void settleSpeculation(CompletableFuture<TxnResponse> raw, List<Request> batch, Map<Request, String> entries,
                               String sentinel, long leaseId, long accountRevision) {
            view = null;
            long failedAt = arithmetic.nowMillis();
            settled = raw.copy().orTimeout(opTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                    .handle((response, error) -> response)
                    .thenCompose(response -> response != null
                            ? CompletableFuture.completedFuture(landedAt(response))
                            : Futures.retry(() -> withdrawSpeculation(bytes(sentinel), leaseId, accountRevision),
                                    SETTLE_ATTEMPTS, SETTLE_PAUSE, e -> e instanceof EtcdUnavailableException))
                    .thenCompose(revision -> revision == 0
                            ? CompletableFuture.<Void>completedFuture(null)
                            : undoLanded(revision, batch, entries, failedAt, leaseId))
                    .exceptionally(e -> {
                        if (Futures.isNotFound(e)) {
                            // The batch's lease ended first: the transaction, whose puts need that lease, can no
                            // longer land; had it landed before, its entries ended with the lease and its amounts
                            // stay counted (never too few) until the account's next refresh.
                            LOG.warn("the lease of a late reservation of account '{}' ended before it was settled;"
                                    + " if it landed, its amounts stay counted until the next refresh", account);
                        } else {
                            LOG.error("could not settle a late reservation of account '{}'; a refresh will correct"
                                    + " its counters: {}", account, Futures.unwrap(e).toString());
                        }
                        return null;
                    });
        }

        /**
         * Settles a speculative transaction whose answer never came: completes with the revision it landed at, or 0
         * once it can never land. Every level compares its sentinel (the first request's entry) absent and the
         * account key's mod revision as seen. First the sentinel is created with a mark of its own, unless it is
         * there: then it is the transaction's entry, and the transaction landed when it was created (or it is the
         * mark, left by an earlier attempt whose answer was lost). While the mark stands the transaction cannot land;
         * then the account key is rewritten as it is (as a queuing writer does), which no later write can undo, and
         * the mark deleted in the same transaction. Deleting the mark alone would make the sentinel absent again, and
         * a transaction still held by the client could land on a level whose value the counter reaches later.
         */
        CompletableFuture<Long> withdrawSpeculation(ByteSequence sentinel, long leaseId, long accountRevision) {
            ByteSequence accountKey = bytes(layout.accountKey(account));
            String what = "the settlement of a reservation of account '" + account + "'";
            CompletableFuture<TxnResponse> mark = kv.txn()
                    .If(new Cmp(sentinel, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                    .Then(Op.put(sentinel, WITHDRAWN, PutOption.builder().withLeaseId(leaseId).build()),
                            Op.get(accountKey, GetOption.DEFAULT))
                    .Else(Op.get(sentinel, GetOption.DEFAULT), Op.get(accountKey, GetOption.DEFAULT))
                    .commit();
            return Futures.bounded(mark, opTimeout, what).thenCompose(marked -> {
                List<GetResponse> gets = marked.getGetResponses();
                if (!marked.isSucceeded() && !gets.get(0).getKvs().get(0).getValue().equals(WITHDRAWN)) {
                    return CompletableFuture.completedFuture(gets.get(0).getKvs().get(0).getCreateRevision());
                }
                List<KeyValue> index = gets.get(gets.size() - 1).getKvs();
                long now = index.isEmpty() ? 0 : index.get(0).getModRevision();
                Op unmark = Op.delete(sentinel, io.etcd.jetcd.options.DeleteOption.DEFAULT);
                CompletableFuture<TxnResponse> fence = now != accountRevision
                        ? kv.txn().Then(unmark).commit() // the account key moved: the transaction can never land
                        : kv.txn().If(locks.noWriterQueuedSince(account, accountRevision))
                                .Then(locks.keepIndex(account, index.isEmpty() ? null : index.get(0)), unmark)
                                .Else(unmark) // it moved meanwhile: as good
                                .commit();
                return Futures.bounded(fence, opTimeout, what).thenApply(done -> 0L);
            });
        }

        /** The revision a speculative transaction's answer shows it landed at, or 0 when no level held. */
        long landedAt(TxnResponse response) {
            TxnResponse at = response;
            while (!at.isSucceeded()) {
                if (at.getTxnResponses().isEmpty()) {
                    return 0;
                }
                at = at.getTxnResponses().get(0);
            }
            return response.getHeader().getRevision();
        }

        /** Undoes the requests of a late speculative transaction whose entries existed at {@code revision}. */
        CompletableFuture<Void> undoLanded(long revision, List<Request> batch, Map<Request, String> entries,
                                           long failedAt, long leaseId) {
            List<Request> undone = batch.stream().filter(r -> !r.keptWhenLost()).toList();
            List<CompletableFuture<Boolean>> existed = undone.stream()
                    .map(r -> Futures.bounded(kv.get(bytes(entries.get(r)), GetOption.builder().withRevision(revision)
                                    .withKeysOnly(true).build()), opTimeout, "a read of a reservation's entry")
                            .thenApply(got -> !got.getKvs().isEmpty()))
                    .toList();
            return CompletableFuture.allOf(existed.toArray(CompletableFuture[]::new)).thenCompose(v -> {
                Map<String, Long> amounts = new LinkedHashMap<>();
                List<String> undoneEntries = new ArrayList<>();
                List<Op> undoOps = new ArrayList<>();
                for (int i = 0; i < undone.size(); i++) {
                    if (!existed.get(i).join()) {
                        continue;
                    }
                    Request request = undone.get(i);
                    request.wanted().forEach((resource, amount) -> amounts.merge(resource, amount, Long::sum));
                    undoneEntries.add(entries.get(request));
                    if (request.attachment() != null) {
                        undoOps.addAll(request.attachment().undo());
                    }
                }
                if (undoneEntries.isEmpty()) {
                    return CompletableFuture.<Void>completedFuture(null);
                }
                LOG.warn("a reservation of account '{}' reported as failed reached etcd late; undoing it", account);
                Acquisition landed = locks.readEntry(account, undoneEntries.get(0), leaseId, revision);
                return releases.undoLate(account, amounts, failedAt, landed)
                        .thenCompose(done -> undoOps.isEmpty()
                                ? CompletableFuture.<Void>completedFuture(null)
                                : Futures.bounded(kv.txn().Then(undoOps.toArray(Op[]::new)).commit(), opTimeout,
                                        "the undo of a late reservation's records").thenApply(r -> (Void) null))
                        .thenCompose(done -> CompletableFuture.allOf(undoneEntries.stream()
                                .map(e -> locks.releaseEntry(locks.readEntry(account, e, leaseId, revision)))
                                .toArray(CompletableFuture[]::new)));
            });
        }

        /** The lock entry a request creates: named by its attachment, or a new name on {@code leaseId}. */
        String entryKey(Request request, long leaseId) {
            String name = request.attachment() == null ? null : request.attachment().entryName();
            return name != null ? locks.namedEntryKey(account, name) : locks.newReadEntryKey(account, leaseId);
        }

        /**
         * Another process won this round on the account. Requests that arrived meanwhile join the retry: a collision
         * makes the next transaction carry more, not adds one.
         */
        CompletableFuture<Void> lostRound(List<Request> again, Set<String> resources, View fresh,
                                          Map<String, Long> limits, long deadline) {
            conflicts.increment();
            lastConflictNanos = System.nanoTime();
            List<Request> joined = joinQueued(again, resources);
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
        CompletableFuture<Void> answerLost(List<Request> requests, Throwable error) {
            Throwable cause = Futures.unwrap(error);
            requests.stream().filter(Request::keptWhenLost).forEach(r -> r.result().completeExceptionally(
                    new OutcomeUnknownException("etcd did not answer a reservation of account '" + account
                            + "' in time; it may have been applied", cause)));
            return CompletableFuture.failedFuture(cause);
        }

        /** Whether a counter of {@code resources}, or the account key, changed between two views. */
        boolean movedSince(View before, View after, Set<String> resources) {
            if (before.accountRevision() != after.accountRevision()) {
                return true;
            }
            for (String resource : resources) {
                if (before.counters().get(resource).modRevision() != after.counters().get(resource).modRevision()) {
                    return true;
                }
            }
            return false;
        }

        /**
         * {@code again} with the requests queued meanwhile that fit the same transaction (their resources among
         * {@code resources}, within the batch and operation limits, no idempotency key shared), taken off the queue.
         */
        List<Request> joinQueued(List<Request> again, Set<String> resources) {
            List<Request> joined = new ArrayList<>(again);
            int weight = joined.stream().mapToInt(Request::weight).sum();
            Set<ByteSequence> claimed = new java.util.HashSet<>();
            joined.forEach(r -> claimed.addAll(r.claimed()));
            synchronized (this) {
                for (java.util.Iterator<Request> it = queue.iterator(); it.hasNext() && joined.size() < MAX_BATCH; ) {
                    Request next = it.next();
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

        /**
         * The requests of {@code batch} to plan again after a failed transaction: all but those (among {@code fits},
         * whose attachments' reads {@code reads} holds in order) whose own attachment failed; those are answered
         * with its failure.
         */
        List<Request> withoutFailedAttachments(List<Request> batch, List<Request> fits, List<GetResponse> reads) {
            List<Request> again = new ArrayList<>(batch);
            int at = 0;
            for (Request request : fits) {
                Attachment attachment = request.attachment();
                if (attachment == null) {
                    continue;
                }
                int n = attachment.reads().size();
                RuntimeException failure = attachment.failure(reads.subList(at, at + n));
                at += n;
                if (failure != null) {
                    request.result().completeExceptionally(failure);
                    again.remove(request);
                }
            }
            return again;
        }

        void granted(long revision, long writers, long accountRevision, List<Request> fits, List<String> entries,
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

        Map<String, VersionedCounter> fromElse(Set<String> resources, View seen, List<GetResponse> gets) {
            Map<String, VersionedCounter> counters = new HashMap<>(seen.counters());
            int i = 0;
            for (String resource : resources) {
                List<KeyValue> kvs = gets.get(i++).getKvs();
                counters.put(resource, kvs.isEmpty() ? VersionedCounter.MISSING : versioned(kvs.get(0)));
            }
            return counters;
        }
    }

    private Map<String, VersionedCounter> allCounters(GetResponse response) {
        Map<String, VersionedCounter> out = new HashMap<>();
        for (KeyValue kv : response.getKvs()) {
            String key = Json.string(kv.getKey());
            String resource = KeyLayout.unescape(key.substring(key.lastIndexOf('/') + 1));
            out.put(resource, versioned(kv));
        }
        return out;
    }

    private static long modRevision(GetResponse response) {
        return response.getKvs().isEmpty() ? 0 : response.getKvs().get(0).getModRevision();
    }

    private static VersionedCounter versioned(KeyValue kv) {
        return new VersionedCounter(Json.read(kv.getValue(), Counter.class), kv.getModRevision());
    }
}
