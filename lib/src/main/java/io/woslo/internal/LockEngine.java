package io.woslo.internal;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.grpc.stub.StreamObserver;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one lock engine behind read and write locks: a queue of entries under {@code <ns>/locks/<key>/}, ordered by
 * etcd create revision, each entry on a lease of its own.
 *
 * <p>To acquire, an entry is put and the queue read back in one transaction. The entry holds the lock when no
 * earlier entry blocks it (any earlier entry blocks a writer; only earlier writers block a reader), which makes the
 * queue FIFO and keeps later readers from starving a waiting writer. Otherwise the waiter watches the newest
 * blocking entry for its delete. The watch is opened at the current revision (so etcd serves it from its synced
 * set, without the 100 ms catch-up of watches opened in the past); once etcd confirms the watch, the waiter
 * re-reads whether the blocker still exists, so a delete between the enqueue and the watch is never lost. On wake-up
 * it reads the queue again, since an older blocker may remain.
 *
 * <p>A waiter passes a blocker only on evidence that the blocker is gone: a delete event, a linearizable read that
 * shows it gone, or (for an entry of this engine) its holder letting go. A watch error, a failed read or a timeout is
 * never such evidence; see {@link KeyGoneWatch}. Before a waiter is granted it confirms, in one round trip made of
 * two concurrent calls, that its lease still lives (restarting it) and that its entry still exists.
 *
 * <p>Every wait is bounded: when {@code maxWait} passes, the entry's lease is revoked (which deletes the entry) before
 * the caller is told. Every etcd call is bounded by the operation timeout.
 */
public final class LockEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LockEngine.class);
    private static final AtomicLong SEQUENCE = new AtomicLong();
    private static final String HOLDER = ManagementFactory.getRuntimeMXBean().getName();
    private static final long CONFIRM_FIRST_PAUSE_MILLIS = 100;
    private static final long CONFIRM_MAX_PAUSE_MILLIS = 1000;
    /** How long a waiter behind an entry of this engine relies on its holder alone before also watching etcd. */
    private static final Duration LOCAL_WATCH_DELAY = Duration.ofSeconds(1);
    private static final Duration KEEP_ALIVE_RETRY_PAUSE = Duration.ofMillis(200);

    private final KV kv;
    private final Lease leases;
    private final Watch watches;
    private final KeyLayout layout;
    private final Duration opTimeout;
    private final ScheduledExecutorService timer;
    private final LockMetrics metrics;
    /**
     * Releases of entries on shared leases are deletes, group-committed: concurrent releases share one transaction
     * (parts without compares, so the combined transaction always succeeds).
     */
    private final TxnCombiner deletes;
    /**
     * The entries this engine queued that are still in use, each with a future completed when its holder lets go:
     * a waiter behind one of them proceeds then, without waiting for etcd to report the delete. Safe because the
     * entry stays in etcd until the delete lands, so no other process can get ahead in the meantime.
     */
    private final ConcurrentHashMap<String, CompletableFuture<Void>> localEntries = new ConcurrentHashMap<>();
    /**
     * Marks the names of the entries this engine's attempts create ({@code w-<lease>-<tag>.<n>}), so that one of
     * them missing from {@link #localEntries} is known to be gone without asking etcd.
     */
    private final String ownTag = Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() | 1L) + ".";

    public LockEngine(Client client, KeyLayout layout, Duration opTimeout) {
        this(client, layout, opTimeout, LockMetrics.NONE);
    }

    /** An engine that reports its grants, waits and losses to {@code metrics}. */
    public LockEngine(Client client, KeyLayout layout, Duration opTimeout, LockMetrics metrics) {
        this(client, layout, opTimeout, new TxnCombiner(client.getKVClient(), opTimeout), metrics);
    }

    /**
     * An engine whose releases of entries on shared leases go through {@code deletes}, which may carry other
     * transactions' parts too (the quota fast path's reservations: a release then costs no transaction of its own).
     */
    public LockEngine(Client client, KeyLayout layout, Duration opTimeout, TxnCombiner deletes) {
        this(client, layout, opTimeout, deletes, LockMetrics.NONE);
    }

    /** {@link #LockEngine(Client, KeyLayout, Duration, TxnCombiner)} reporting to {@code metrics}. */
    public LockEngine(Client client, KeyLayout layout, Duration opTimeout, TxnCombiner deletes, LockMetrics metrics) {
        this.metrics = metrics;
        this.kv = client.getKVClient();
        this.leases = client.getLeaseClient();
        this.watches = client.getWatchClient();
        this.layout = layout;
        this.opTimeout = opTimeout;
        this.deletes = deletes;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "woslo-lock-timer");
            t.setDaemon(true);
            return t;
        });
    }

    public KeyLayout layout() {
        return layout;
    }

    /** Where this engine's grants, waits and losses are counted; entries granted elsewhere are counted there too. */
    public LockMetrics metrics() {
        return metrics;
    }

    /**
     * Enqueues and waits for the lock. Completes with the acquisition, with {@code null} when {@code maxWait}
     * passed first (the entry is gone from etcd by then), or exceptionally with {@link EtcdUnavailableException}
     * (etcd unreachable; the entry ended while waiting; or the wait ended but the entry could not be removed).
     * A {@code maxWait} of zero means one look: the lock is taken only if nothing blocks it at the enqueue.
     * {@code maxWait} bounds the wait for other holders, not etcd's answers (each bounded by the operation timeout):
     * when it passes before the first look at the queue, the attempt still takes that one look.
     */
    public CompletableFuture<Acquisition> acquire(String lockKey, boolean write, long ownerId, Duration leaseTime,
                                                  boolean keepAlive, Duration maxWait) {
        return acquire(lockKey, write, ownerId, leaseTime, keepAlive, maxWait, EnqueueGuard.NONE);
    }

    /**
     * {@link #acquire(String, boolean, long, Duration, boolean, Duration)} with {@code guard}'s compares and writes
     * in the enqueue transaction. When the compares fail, nothing is enqueued and the future fails with
     * {@link EnqueueGuard.ConflictException}.
     */
    public CompletableFuture<Acquisition> acquire(String lockKey, boolean write, long ownerId, Duration leaseTime,
                                                  boolean keepAlive, Duration maxWait, EnqueueGuard guard) {
        if (maxWait.isNegative()) {
            throw new IllegalArgumentException("maxWait must not be negative, got " + maxWait);
        }
        Attempt attempt = new Attempt(lockKey, write, ownerId, leaseTime, keepAlive, guard);
        attempt.start(maxWait);
        // An attempt that gave up reports it only once its entry is gone from etcd, as the lock API promises.
        return attempt.result.thenCompose(acquisition -> acquisition != null
                ? CompletableFuture.completedFuture(acquisition)
                : attempt.removed.thenApply(ignored -> null));
    }

    /**
     * Ends an acquisition by revoking its lease, which deletes its entry in the same step. Completes with
     * {@code false} when the lease had already ended (the lock was lost before), {@code true} otherwise.
     */
    public CompletableFuture<Boolean> release(Acquisition acquisition) {
        if (acquisition.loss() != null) {
            acquisition.loss().released(); // before the delete, which is not a loss
        }
        localGone(acquisition.entryKey());
        if (!acquisition.ownsLease()) {
            Op delete = Op.delete(bytes(acquisition.entryKey()), io.etcd.jetcd.options.DeleteOption.DEFAULT);
            // In both branches: a release combined with parts whose compares may fail is done either way.
            return deletes.submit(new TxnCombiner.Part(List.of(), List.of(delete), List.of(delete))).outcome()
                    .thenApply(outcome -> outcome.deleted().get(0) > 0);
        }
        if (acquisition.keepAlive() != null) {
            acquisition.keepAlive().close();
        }
        return Futures.bounded(leases.revoke(acquisition.leaseId()), opTimeout, "a lock release")
                .handle((response, error) -> {
                    if (error == null) {
                        return true;
                    }
                    if (Futures.isNotFound(error)) {
                        return false;
                    }
                    throw new java.util.concurrent.CompletionException(Futures.unwrap(error));
                });
    }

    /**
     * The caller is about to delete the entry of {@code acquisition} in a transaction of its own (one that ends a
     * reservation with its counters): that delete is a release, not a loss.
     */
    public void releasing(Acquisition acquisition) {
        if (acquisition.loss() != null) {
            acquisition.loss().released();
        }
        if (acquisition.keepAlive() != null) {
            acquisition.keepAlive().close();
        }
    }

    /**
     * The caller's transaction deleted the entry of {@code acquisition}: local waiters may look again, and a lease
     * the acquisition had to itself is revoked in the background (it holds nothing any more).
     */
    public void deleted(Acquisition acquisition) {
        localGone(acquisition.entryKey());
        if (acquisition.ownsLease()) {
            Futures.bounded(leases.revoke(acquisition.leaseId()), opTimeout, "a lease revoke").exceptionally(e -> null);
        }
    }

    /** Watches for {@code entryKey} (created at {@code createRevision}) to be gone; see {@link KeyGoneWatch}. */
    KeyGoneWatch watchGone(String entryKey, long createRevision, String name) {
        return KeyGoneWatch.start(watches, kv, timer, opTimeout, bytes(entryKey), createRevision, name);
    }

    ScheduledFuture<?> schedule(Runnable task, long delay, TimeUnit unit) {
        return timer.schedule(task, delay, unit);
    }

    /** etcd showed {@code entryKey} gone (its hold was lost): waiters of this engine behind it may pass it. */
    void entryGone(String entryKey) {
        localGone(entryKey);
    }

    private boolean isOwnAndGone(String entryKey) {
        return entryKey.contains("-" + ownTag) && !localEntries.containsKey(entryKey);
    }

    private void localGone(String entryKey) {
        if (entryKey == null) {
            return;
        }
        CompletableFuture<Void> gone = localEntries.remove(entryKey);
        if (gone != null) {
            gone.complete(null);
        }
    }

    /** A new, unique queue entry key for {@code lockKey} on {@code leaseId}. */
    public String newEntryKey(String lockKey, boolean write, long leaseId) {
        return layout.lockPrefix(lockKey) + QueueEntry.entryName(write, leaseId, String.valueOf(SEQUENCE.incrementAndGet()));
    }

    /** The prefix under which {@code lockKey}'s write entries live: a range over it finds the writers. */
    public String writersPrefix(String lockKey) {
        return layout.lockPrefix(lockKey) + "w-";
    }

    /** The value of a queue entry: who holds or waits, for people reading etcd. */
    public static ByteSequence entryValue(boolean write, long ownerId, Duration leaseTime) {
        return Json.write(Map.of(
                "owner", ownerId,
                "mode", write ? "write" : "read",
                "holder", HOLDER,
                "leaseSeconds", leaseTime.toSeconds()));
    }

    /** Reads the queue of one lock: the entries in create-revision order with their stored values. */
    public CompletableFuture<List<Map.Entry<QueueEntry, ByteSequence>>> readQueue(String lockKey) {
        String prefix = layout.lockPrefix(lockKey);
        return Futures.bounded(kv.get(bytes(prefix), queueRange(0, false)), opTimeout, "a lock inspection")
                .thenApply(response -> {
                    List<Map.Entry<QueueEntry, ByteSequence>> out = new ArrayList<>();
                    for (KeyValue kv : response.getKvs()) {
                        out.add(Map.entry(toEntry(prefix, kv), kv.getValue()));
                    }
                    return out;
                });
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    private static GetOption queueRange(long maxCreateRevision, boolean keysOnly) {
        GetOption.Builder option = GetOption.builder()
                .isPrefix(true)
                .withKeysOnly(keysOnly)
                .withSortField(GetOption.SortTarget.CREATE)
                .withSortOrder(GetOption.SortOrder.ASCEND);
        if (maxCreateRevision > 0) {
            option.withMaxCreateRevision(maxCreateRevision);
        }
        return option.build();
    }

    private static QueueEntry toEntry(String prefix, KeyValue kv) {
        String key = Json.string(kv.getKey());
        String name = key.substring(prefix.length());
        // A key not written by WOSLO (someone's hand) is treated as a writer: it blocks everyone after it.
        boolean write = !name.startsWith("r-");
        return new QueueEntry(key, write, kv.getCreateRevision());
    }

    /** One acquisition in progress: a small state machine driven by etcd callbacks, never blocking a thread. */
    private final class Attempt {
        final CompletableFuture<Acquisition> result = new CompletableFuture<>();
        /**
         * Completes when {@link #cleanUp} has removed the entry (or found nothing to remove); fails when the entry
         * could not be removed, so that a caller is never told its entry is gone while it may still be there.
         */
        final CompletableFuture<Void> removed = new CompletableFuture<>();
        final String lockKey;
        final boolean write;
        final long ownerId;
        final Duration leaseTime;
        final boolean keepAlive;
        final EnqueueGuard guard;
        final String prefix;
        final AtomicLong leaseToRevoke = new AtomicLong();
        volatile long leaseId;
        /** {@link System#nanoTime()} just before the request that started the lease (or restarted it). */
        volatile long leaseStartNanos;
        volatile String entryKey;
        volatile long revision;
        volatile boolean waited;
        volatile boolean noWait;
        /** Earlier entries known to be gone; touched only by the attempt's own (sequential) steps. */
        final java.util.Set<String> passed = java.util.concurrent.ConcurrentHashMap.newKeySet();
        volatile RenewedLease keepAliveStream;
        final long startNanos = System.nanoTime();

        Attempt(String lockKey, boolean write, long ownerId, Duration leaseTime, boolean keepAlive, EnqueueGuard guard) {
            this.guard = guard;
            this.lockKey = lockKey;
            this.write = write;
            this.ownerId = ownerId;
            this.leaseTime = leaseTime;
            this.keepAlive = keepAlive;
            this.prefix = layout.lockPrefix(lockKey);
        }

        void start(Duration maxWait) {
            noWait = maxWait.isZero();
            if (!noWait) {
                ScheduledFuture<?> deadline = timer.schedule(this::onDeadline, maxWait.toNanos(), TimeUnit.NANOSECONDS);
                result.whenComplete((a, e) -> deadline.cancel(false));
            }
            long ttlSeconds = Math.max(1, (leaseTime.toMillis() + 999) / 1000);
            leaseStartNanos = System.nanoTime();
            Futures.bounded(leases.grant(ttlSeconds), opTimeout, "a lease grant for lock '" + lockKey + "'")
                    .thenCompose(grant -> {
                        leaseId = grant.getID();
                        leaseToRevoke.set(leaseId);
                        if (result.isDone()) {
                            cleanUp();
                            return CompletableFuture.completedFuture(null);
                        }
                        if (keepAlive) {
                            RenewedLease renewed = new RenewedLease(lockKey, leaseId);
                            keepAliveStream = renewed;
                            // A waiter whose kept-alive lease is gone has lost its entry: it stops waiting at once.
                            renewed.gone.thenRun(() -> fail(entryEnded("its lease ended (expired or revoked)")));
                        }
                        return enqueue();
                    })
                    .thenAccept(queue -> {
                        if (queue != null) {
                            evaluate(queue);
                        }
                    })
                    .exceptionally(this::fail);
        }

        CompletableFuture<List<QueueEntry>> enqueue() {
            // Registered before it can reach etcd: another attempt of this engine may see the entry in its queue
            // read before this one hears back, and must then know it as live, not as one of ours already gone.
            entryKey = layout.lockPrefix(lockKey) + QueueEntry.entryName(write, leaseId, ownTag + SEQUENCE.incrementAndGet());
            localEntries.put(entryKey, new CompletableFuture<>());
            ByteSequence key = bytes(entryKey);
            List<Cmp> compares = new ArrayList<>(guard.compares());
            compares.add(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)));
            List<Op> ops = new ArrayList<>(guard.writes());
            ops.add(Op.put(key, entryValue(write, ownerId, leaseTime), PutOption.builder().withLeaseId(leaseId).build()));
            ops.add(Op.get(bytes(prefix), queueRange(0, true)));
            CompletableFuture<TxnResponse> txn = kv.txn()
                    .If(compares.toArray(Cmp[]::new))
                    .Then(ops.toArray(Op[]::new))
                    .commit();
            return Futures.bounded(txn, opTimeout, "the enqueue of lock '" + lockKey + "'")
                    .thenApply(response -> {
                        if (!response.isSucceeded()) {
                            throw new EnqueueGuard.ConflictException("the guarded keys of lock '" + lockKey
                                    + "' changed before the enqueue");
                        }
                        return entries(response.getGetResponses().get(0));
                    });
        }

        List<QueueEntry> entries(GetResponse response) {
            List<QueueEntry> out = new ArrayList<>(response.getKvs().size());
            for (KeyValue kv : response.getKvs()) {
                out.add(toEntry(prefix, kv));
            }
            return out;
        }

        /**
         * Decides on the queue as read at the enqueue. Entries created after this attempt's never block it, so the
         * snapshot is all it needs: it waits for the newest blocking entry, forgets it once gone, and decides again.
         */
        void evaluate(List<QueueEntry> queue) {
            if (result.isDone()) {
                return;
            }
            QueueEntry blocker = null;
            QueueEntry mine = null;
            for (QueueEntry entry : queue) {
                if (entry.key().equals(entryKey)) {
                    mine = entry;
                    break;
                }
                if (entry.blocks(write) && !passed.contains(entry.key()) && !isOwnAndGone(entry.key())) {
                    blocker = entry;
                }
            }
            if (mine == null) {
                fail(entryEnded("it is missing from the queue"));
                return;
            }
            revision = mine.createRevision();
            if (blocker == null) {
                grant();
                return;
            }
            waited = true;
            if (noWait) { // a one-look attempt, or the deadline passed before this look: give up now
                giveUp();
                return;
            }
            String gone = blocker.key();
            awaitGone(blocker)
                    .thenRun(() -> {
                        passed.add(gone);
                        evaluate(queue);
                    })
                    .exceptionally(this::fail);
        }

        void grant() {
            if (!waited) {
                complete(leaseStartNanos);
                return;
            }
            confirmAfterWait(CONFIRM_FIRST_PAUSE_MILLIS);
        }

        /**
         * After a wait, restarts the lease (it started counting at the enqueue) so the holder gets its full lease
         * time, and confirms the entry still exists: a lease that ended while waiting (an election, a long stall, a
         * revoke) took the entry with it, and an entry may have been removed by hand; granting then would break
         * mutual exclusion. Both calls go out together. A call that fails for another reason proves nothing either
         * way, so both are tried again after a pause, until they answer or the attempt's deadline passes.
         */
        void confirmAfterWait(long pauseMillis) {
            if (result.isDone()) {
                return;
            }
            long refreshStartNanos = System.nanoTime();
            CompletableFuture<LeaseKeepAliveResponse> refresh = Futures.bounded(leases.keepAliveOnce(leaseId),
                    opTimeout, "a lease refresh for lock '" + lockKey + "'");
            CompletableFuture<GetResponse> read = Futures.bounded(kv.get(bytes(entryKey),
                    GetOption.builder().withKeysOnly(true).build()), opTimeout, "a read of lock '" + lockKey + "'");
            CompletableFuture.allOf(refresh, read).whenComplete((ignored, anyError) -> {
                Throwable refreshError = refresh.isCompletedExceptionally() ? errorOf(refresh) : null;
                Throwable readError = read.isCompletedExceptionally() ? errorOf(read) : null;
                if (refreshError != null && Futures.isNotFound(refreshError)
                        || refreshError == null && refresh.join().getTTL() <= 0) {
                    fail(entryEnded("its lease ended (expired or revoked)"));
                } else if (readError == null && !isMine(read.join())) {
                    fail(entryEnded("its queue entry was removed"));
                } else if (refreshError != null || readError != null) {
                    Throwable error = refreshError != null ? refreshError : readError;
                    LOG.debug("could not confirm the entry of lock '{}' after its wait, retrying: {}", lockKey,
                            error.toString());
                    try {
                        timer.schedule(() -> confirmAfterWait(Math.min(CONFIRM_MAX_PAUSE_MILLIS, pauseMillis * 2)),
                                pauseMillis, TimeUnit.MILLISECONDS);
                    } catch (java.util.concurrent.RejectedExecutionException engineClosed) {
                        fail(error);
                    }
                } else {
                    complete(refreshStartNanos);
                }
            });
        }

        private boolean isMine(GetResponse read) {
            return !read.getKvs().isEmpty() && read.getKvs().get(0).getCreateRevision() == revision;
        }

        private Throwable errorOf(CompletableFuture<?> failed) {
            try {
                failed.join();
                return null;
            } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
                return Futures.unwrap(e);
            }
        }

        /** The failure of an attempt whose queue entry ended before it was granted: nothing is held. */
        EtcdUnavailableException entryEnded(String why) {
            return new EtcdUnavailableException("the wait for lock '" + lockKey + "' ended without the lock: " + why
                    + " while waiting (lease " + Long.toHexString(leaseId) + "); nothing is held", null);
        }

        void complete(long leaseStart) {
            LossSignal loss = new LossSignal(LockEngine.this, lockKey, entryKey, write, revision, leaseId,
                    leaseStart, leaseTime, keepAliveStream);
            Acquisition acquisition = new Acquisition(lockKey, entryKey, write, leaseId, revision, keepAliveStream,
                    true, loss);
            if (result.complete(acquisition)) {
                leaseToRevoke.set(0);
                metrics.acquired(write);
                waitEnded(LockMetrics.WaitOutcome.GRANTED);
                RenewedLease renewed = keepAliveStream;
                if (renewed != null) {
                    renewed.gone.thenRun(() -> loss.lost("etcd answered the keep-alive: lease not found", true));
                }
            } else {
                cleanUp();
            }
        }

        /**
         * Completes when {@code blocker} is gone. An entry of this engine is known gone the moment its holder
         * releases it or its attempt gives up (the next local waiter need not wait for etcd to tell); any entry is
         * gone when etcd shows it so ({@link KeyGoneWatch}).
         */
        CompletableFuture<Void> awaitGone(QueueEntry blocker) {
            CompletableFuture<Void> here = localEntries.get(blocker.key());
            if (here == null) {
                return awaitDelete(blocker).gone();
            }
            // Ours: its holder tells us when it lets go. Watching etcd as well costs a watch per waiter, which etcd
            // creates one at a time; it is only needed if the holder never lets go and the lease ends, so it starts
            // late.
            CompletableFuture<Void> gone = new CompletableFuture<>();
            here.thenRun(() -> gone.complete(null));
            ScheduledFuture<?> fallback = timer.schedule(() -> {
                if (!gone.isDone() && !result.isDone()) {
                    KeyGoneWatch watch = awaitDelete(blocker);
                    watch.gone().whenComplete((v, e) -> {
                        if (e == null) {
                            gone.complete(null);
                        } else {
                            gone.completeExceptionally(e);
                        }
                    });
                    gone.whenComplete((v, e) -> watch.close());
                }
            }, LOCAL_WATCH_DELAY.toMillis(), TimeUnit.MILLISECONDS);
            gone.whenComplete((v, e) -> fallback.cancel(false));
            return gone;
        }

        /** Watches {@code blocker} in etcd until it is gone or this attempt ends. */
        KeyGoneWatch awaitDelete(QueueEntry blocker) {
            KeyGoneWatch watch = watchGone(blocker.key(), blocker.createRevision(),
                    "the entry " + blocker.key() + " ahead of a waiter of lock '" + lockKey + "'");
            result.whenComplete((a, e) -> watch.close());
            return watch;
        }

        /**
         * The wait is over. An attempt already waiting behind a blocker gives up; one that has not looked at the
         * queue yet (its lease grant or enqueue still in flight) becomes a one-look attempt, so a short wait on a
         * free lock still takes it, and a slow etcd is reported by the operation timeout, not by the wait.
         * {@code noWait} is written before {@code waited} is read here, and the other way round in
         * {@link #evaluate}, so at least one of the two sides gives up.
         */
        void onDeadline() {
            noWait = true;
            if (waited) {
                giveUp();
            }
        }

        void giveUp() {
            if (result.complete(null)) {
                waitEnded(LockMetrics.WaitOutcome.TIMEOUT);
                cleanUp();
            }
        }

        Void fail(Throwable error) {
            if (result.completeExceptionally(Futures.unwrap(error))) {
                waitEnded(LockMetrics.WaitOutcome.FAILED);
                cleanUp();
            }
            return null;
        }

        /** Counts the end of the wait, when this attempt found the lock held and waited. */
        void waitEnded(LockMetrics.WaitOutcome outcome) {
            if (waited) {
                metrics.waited(write, outcome, System.nanoTime() - startNanos);
            }
        }

        /** Removes what this attempt put into etcd. Safe to call more than once and from any state. */
        void cleanUp() {
            localGone(entryKey);
            CloseableClient stream = keepAliveStream;
            if (stream != null) {
                stream.close();
            }
            long lease = leaseToRevoke.getAndSet(0);
            if (lease == 0) {
                if (leaseId == 0) {
                    removed.complete(null); // no lease yet, so no entry; one granted later is revoked in start()
                }
                return; // otherwise the call that took the lease completes `removed` once it is revoked
            }
            Futures.bounded(leases.revoke(lease), opTimeout, "a lease revoke").whenComplete((r, e) -> {
                if (e != null && !Futures.isNotFound(e)) {
                    LOG.warn("could not remove the queue entry of lock '{}' (it ends with its lease): {}",
                            lockKey, e.getMessage());
                    // Not removed is not removed: the caller must not be told its entry is gone.
                    removed.completeExceptionally(new EtcdUnavailableException("the wait for lock '" + lockKey
                            + "' ended, but its queue entry could not be removed (it ends with its lease "
                            + Long.toHexString(lease) + "): " + e.getMessage(), e));
                    return;
                }
                removed.complete(null);
            });
        }
    }

    /**
     * The keep-alive of one held lock's lease. On a stream error jetcd retries by itself, but when no renewal is
     * answered within one TTL (an election slower than the lease, a partition) it drops the keep-alive for good and
     * completes its observers, although etcd restarts every lease's time when a new leader takes over. So when jetcd
     * gives up, the keep-alive is opened again, for as long as the lock is held, until it is closed (release) or etcd
     * says the lease is gone (the lock was lost).
     */
    private final class RenewedLease implements CloseableClient, StreamObserver<LeaseKeepAliveResponse> {
        private final String lockKey;
        private final long leaseId;
        /** Completes when etcd answers that the lease is gone (keep-alive NOT_FOUND, or a TTL of zero). */
        final CompletableFuture<Void> gone = new CompletableFuture<>();
        private volatile CloseableClient stream;
        private volatile boolean closed;

        RenewedLease(String lockKey, long leaseId) {
            this.lockKey = lockKey;
            this.leaseId = leaseId;
            open();
        }

        private synchronized void open() {
            if (!closed) {
                stream = leases.keepAlive(leaseId, this);
            }
        }

        @Override
        public void onNext(LeaseKeepAliveResponse response) {
            // renewed
        }

        @Override
        public void onError(Throwable error) {
            if (closed) {
                return;
            }
            if (Futures.isNotFound(error)) {
                LOG.debug("keep-alive of lock '{}': lease {} not found", lockKey, Long.toHexString(leaseId));
                gone.complete(null);
            } else {
                LOG.debug("keep-alive of lock '{}' (lease {}) interrupted, jetcd retries: {}", lockKey,
                        Long.toHexString(leaseId), error.toString());
            }
        }

        @Override
        public void onCompleted() {
            if (closed) {
                return;
            }
            LOG.info("keep-alive of lock '{}' (lease {}) got no answer for a lease time; renewing it again",
                    lockKey, Long.toHexString(leaseId));
            try {
                timer.schedule(this::open, KEEP_ALIVE_RETRY_PAUSE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException engineClosed) {
                LOG.warn("keep-alive of lock '{}' stops: its lock engine is closed; the lock ends with its lease",
                        lockKey);
            }
        }

        @Override
        public synchronized void close() {
            closed = true;
            CloseableClient current = stream;
            if (current != null) {
                current.close();
            }
        }
    }
}
