package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.Counter;
import io.woslo.internal.Acquisition;
import io.woslo.internal.CounterStore;
import io.woslo.internal.EnqueueGuard;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Fence;
import io.woslo.internal.LockLostException;
import io.woslo.internal.OutcomeUnknownException;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LockEngine;
import io.woslo.internal.VersionedCounter;
import io.woslo.lock.LockMode;
import io.woslo.lock.LockUnavailableException;
import io.woslo.lock.RwLocks;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Quota reservations on etcd: the original edition's quota API for Java services.
 *
 * <pre>{@code
 * QuotaManager quota = QuotaManager.builder(client)
 *         .resource("CPUA", cpuHandler)
 *         .resource("DISK", diskHandler)
 *         .build();
 * quota.initResourceQuotaData(() -> List.of("account1", "account2"));
 *
 * try (Reservation r = quota.prepareOccupying("account1", Map.of("CPUA", 1L))) {
 *     try {
 *         createVm();
 *     } catch (Exception e) {
 *         r.rollback();
 *         throw e;
 *     }
 * }
 * quota.cleanUsed("account1", Map.of("CPUA", 1L));                           // when the VM is deleted
 * quota.rollback("account1", Map.of("CPUA", 1L), errorTime);                 // when a failure is found later
 * }</pre>
 *
 * <p><b>Counters.</b> Each (account, resource) has a counter at {@code <ns>/quota/<account>/<resource>} holding
 * {@code {"used","quota","refreshedAt"}}. It caches the figures the resource's {@link UsedQuotaHandler} reports,
 * plus the reservations in flight. Every change is one etcd transaction that compares the mod revision of each
 * counter it read, so concurrent reservations from any number of processes never take an account over its quota,
 * and a reservation over several resources is all-or-nothing.
 *
 * <p><b>Locks.</b> A reservation holds the account's read lock until {@link Reservation#close()}; a refresh takes
 * the account's write lock, so it waits for reservations in flight and never overwrites them. Both live on etcd
 * leases of {@code lockLeaseTime}.
 *
 * <p><b>Failures.</b> Every call is bounded by the operation timeout (10 seconds by default) and then throws
 * {@link QuotaUnavailableException}; a failed call changes nothing and holds no lock. Bad input throws
 * {@link IllegalArgumentException} naming the value before anything is sent to etcd. Thread-safe.
 */
public final class QuotaManager implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(QuotaManager.class);

    public static final Duration DEFAULT_CACHE_TTL = Duration.ofMinutes(3);
    public static final Duration DEFAULT_HEALTH_CHECK_INTERVAL = Duration.ofSeconds(1);
    public static final Duration DEFAULT_LOCK_LEASE_TIME = Duration.ofMinutes(1);
    public static final Duration DEFAULT_OPERATION_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_OVER_QUOTA_SCAN_INTERVAL = Duration.ofHours(24);
    /** How long the first outcome of a request sent with an {@link IdempotencyKey} is kept. */
    public static final Duration DEFAULT_IDEMPOTENCY_WINDOW = Duration.ofHours(24);
    /**
     * Most resources one manager takes: a reservation of all of them, with its lock entry, must fit one etcd
     * transaction (128 operations by default).
     */
    public static final int MAX_RESOURCES = 100;
    /** How often, and how far apart, a lost reservation write is settled before a refresh is left to fix it. */
    private static final int LOST_WRITE_ATTEMPTS = 20;
    private static final Duration LOST_WRITE_PAUSE = Duration.ofMillis(500);
    /** {@link #refresh} without {@code force} skips counters refreshed more recently than this. */
    public static final Duration REFRESH_DEBOUNCE = Duration.ofSeconds(1);
    /** {@link #check} with no account names lists the accounts refreshed within this window. */
    public static final Duration RECENT_ACCOUNTS_WINDOW = Duration.ofHours(24);

    private final Client client;
    private final KeyLayout layout;
    private final RwLocks locks;
    private final LockEngine accountLocks;
    private final StoredReservations stored;
    private final FastReservations fast;
    private final CounterStore counters;
    private final QuotaArithmetic arithmetic;
    private final Map<String, UsedQuotaHandler> handlers;
    private final Duration cacheTtl;
    private final Duration lockLeaseTime;
    private final Duration operationTimeout;
    private final Duration overQuotaScanInterval;
    private final Predicate<String> quotaEnabled;
    private final FailureMode failureMode;
    private final Clock clock;
    private final Executor handlerExecutor;
    private final ExecutorService ownedHandlerExecutor;
    /** The health probe's thread: nothing else runs on it, so a long scan or a slow etcd call cannot delay it. */
    private final ScheduledExecutorService prober;
    /** The over-quota scan's thread (it asks every account's handlers, which may take long). */
    private final ScheduledExecutorService scanner;
    /** Ends waits that outlive the operation timeout. */
    private final ScheduledExecutorService deadlines;
    /**
     * Where the futures handed to callers complete, so that their continuations (which may block, even on another
     * WOSLO call) never run on a thread WOSLO needs for progress: jetcd's executor, a lane, a combiner.
     */
    private final Executor callbacks;
    /** The callback pool when the manager made its own, else null. */
    private final ExecutorService ownedCallbacks;
    private final QuotaMetrics metrics;
    private final OverQuotaListener overQuotaListener;
    private final Duration probeTimeout;
    private final java.util.concurrent.atomic.LongAdder conflicts = new java.util.concurrent.atomic.LongAdder();
    private volatile boolean etcdHealthy = true;

    private QuotaManager(Builder b) {
        this.client = b.client;
        this.layout = new KeyLayout(b.namespace);
        this.locks = RwLocks.builder(b.client).namespace(b.namespace).operationTimeout(b.operationTimeout).build();
        // One group commit for the fast path's reservations and the releases of their entries: a close rides in the
        // next reservation's transaction instead of costing one of its own.
        io.woslo.internal.TxnCombiner combiner = new io.woslo.internal.TxnCombiner(b.client.getKVClient(),
                b.operationTimeout);
        this.accountLocks = new LockEngine(b.client, layout, b.operationTimeout, combiner, b.lockMetrics);
        this.counters = new CounterStore(b.client, layout, b.operationTimeout, conflicts);
        this.arithmetic = new QuotaArithmetic(b.clock, b.cacheTtl);
        this.stored = new StoredReservations(this, b.client, layout, counters,
                new Idempotency(b.client, layout, b.idempotencyWindow, b.operationTimeout), b.operationTimeout,
                b.lockLeaseTime);
        this.fast = new FastReservations(this, b.client, layout, accountLocks, combiner, b.operationTimeout,
                b.lockLeaseTime, arithmetic::isStale);
        this.handlers = Map.copyOf(b.handlers);
        this.cacheTtl = b.cacheTtl;
        this.lockLeaseTime = b.lockLeaseTime;
        this.operationTimeout = b.operationTimeout;
        this.overQuotaScanInterval = b.overQuotaScanInterval;
        this.quotaEnabled = b.quotaEnabled;
        this.failureMode = b.failureMode;
        this.clock = b.clock;
        this.overQuotaListener = b.overQuotaListener;
        this.metrics = b.metrics;
        if (b.handlerExecutor != null) {
            this.handlerExecutor = b.handlerExecutor;
            this.ownedHandlerExecutor = null;
        } else {
            this.ownedHandlerExecutor = Executors.newCachedThreadPool(daemonThreads("woslo-quota-handler"));
            this.handlerExecutor = ownedHandlerExecutor;
        }
        // A probe answers in milliseconds when etcd is fine; waiting longer than the interval only delays the news.
        Duration probeBound = b.healthCheckInterval.compareTo(Duration.ofMillis(500)) < 0
                ? Duration.ofMillis(500) : b.healthCheckInterval;
        this.probeTimeout = probeBound.compareTo(b.operationTimeout) > 0 ? b.operationTimeout : probeBound;
        this.prober = Executors.newSingleThreadScheduledExecutor(daemonThreads("woslo-quota-probe"));
        this.scanner = Executors.newSingleThreadScheduledExecutor(daemonThreads("woslo-quota-scan"));
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, daemonThreads("woslo-quota-deadline"));
        timer.setRemoveOnCancelPolicy(true);
        this.deadlines = timer;
        if (b.callbackExecutor != null) {
            this.callbacks = b.callbackExecutor;
            this.ownedCallbacks = null;
        } else {
            this.ownedCallbacks = Executors.newCachedThreadPool(daemonThreads("woslo-quota-callback"));
            this.callbacks = ownedCallbacks;
        }
        prober.scheduleWithFixedDelay(this::probeEtcd, b.healthCheckInterval.toMillis(),
                b.healthCheckInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** A builder for a manager on {@code client}. Register each resource with {@link Builder#resource}. */
    public static Builder builder(Client client) {
        return new Builder(client);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reservations

    /**
     * Reserves {@code requirement} for {@code account}, all or nothing, and holds the account's read lock until the
     * reservation is closed. Amounts of 0 are ignored; an empty requirement, or an account for which quota is off,
     * gets a reservation that changed nothing.
     *
     * @throws QuotaExceededException naming the first resource (in the requirement's order) that is short
     * @throws QuotaUnavailableException when etcd or a handler cannot be reached in time (closed failure mode)
     * @throws IllegalArgumentException for a null or empty account, an unknown resource or a negative amount
     */
    public Reservation prepareOccupying(String account, Map<String, Long> requirement) {
        return join(prepareOccupyingAsync(account, requirement));
    }

    /**
     * {@link #prepareOccupying} without blocking; argument errors are thrown at once. The future completes within the
     * operation timeout, never on a thread WOSLO needs (its continuations may block). If it is cancelled or times
     * out while the reservation is still in flight, whatever of it lands later is given back.
     */
    public CompletableFuture<Reservation> prepareOccupyingAsync(String account, Map<String, Long> requirement) {
        long start = System.nanoTime();
        Requirements.account(account);
        Map<String, Long> wanted = Requirements.amounts("requirement", requirement, handlers.keySet());
        if (wanted.isEmpty() || !quotaEnabled.test(account)) {
            metrics.reservation("noop", System.nanoTime() - start);
            return CompletableFuture.completedFuture(QuotaReservation.noop(this, account));
        }
        CompletableFuture<Reservation> reserved = etcdHealthy
                ? reserve(account, wanted, null).thenApply(r -> (Reservation) new QuotaReservation(this, r))
                : CompletableFuture.failedFuture(new EtcdUnavailableException(
                        "etcd failed its last health probe", null));
        CompletableFuture<Reservation> counted = reserved.thenApply(reservation -> {
            metrics.reservation("reserved", System.nanoTime() - start);
            return reservation;
        });
        return deliver(new Call(), counted, "a reservation for account '" + account + "'", QuotaManager::giveBack,
                cause -> {
                    if (cause instanceof QuotaExceededException) {
                        metrics.reservation("exceeded", System.nanoTime() - start);
                    } else if (cause instanceof QuotaUnavailableException && failureMode == FailureMode.OPEN) {
                        metrics.reservation("fail_open", System.nanoTime() - start);
                        LOG.warn("etcd unavailable, letting a reservation for account '{}' of {} pass (failure mode"
                                + " OPEN): {}", account, wanted, cause.getMessage());
                        return QuotaReservation.noop(this, account);
                    } else if (cause instanceof QuotaUnavailableException || cause instanceof QuotaBusyException) {
                        metrics.reservation("unavailable", System.nanoTime() - start);
                    }
                    throw new CompletionException(cause);
                });
    }

    /** Gives back a reservation nobody waits for any more: its amounts, then its lock. */
    private static void giveBack(Reservation abandoned) {
        LOG.info("{} landed after its caller stopped waiting; giving it back", abandoned);
        abandoned.rollbackAsync()
                .whenComplete((v, e) -> {
                    if (e != null) {
                        LOG.warn("could not give back the abandoned {} (a refresh corrects its counters): {}",
                                abandoned, Futures.unwrap(e).getMessage());
                    }
                })
                .handle((v, e) -> abandoned.closeAsync());
    }

    /**
     * Hands an internal future to a caller. The caller's future fails with {@link QuotaUnavailableException} when the
     * operation timeout passes first; it completes on the callback executor, so that its continuations, which may
     * block, never hold up a thread WOSLO needs; failures are mapped to the {@link QuotaException} family. When the
     * caller's future is done first (timed out, cancelled), a value that arrives later goes to {@code abandoned},
     * which gives it back.
     */
    <T> CompletableFuture<T> deliver(CompletableFuture<T> internal, String what,
                                     java.util.function.Consumer<T> abandoned) {
        return deliver(new Call(), internal, what, abandoned, null);
    }

    /**
     * {@link #deliver} for a change that is "not applied" when its caller's deadline passes before {@code work}
     * began writing (see {@link Call}), and "outcome unknown" after.
     */
    <T> CompletableFuture<T> deliverChange(String what, java.util.function.Function<Call, CompletableFuture<T>> work) {
        Call call = new Call();
        CompletableFuture<T> internal;
        try {
            internal = work.apply(call);
        } catch (RuntimeException e) {
            internal = CompletableFuture.failedFuture(e);
        }
        return deliver(call, internal, what, null, null);
    }

    /**
     * The general form: {@code recover}, when given, turns a failure (already mapped to the {@link QuotaException}
     * family, including the deadline's) into the caller's value, or throws it on.
     */
    private <T> CompletableFuture<T> deliver(Call call, CompletableFuture<T> internal, String what,
                                             java.util.function.Consumer<T> abandoned,
                                             Function<Throwable, T> recover) {
        CompletableFuture<T> out = new CallFuture<>(call);
        ScheduledFuture<?> deadline;
        try {
            deadline = deadlines.schedule(() -> fail(out, call.abandon()
                    ? new QuotaUnavailableException(what + " did not complete within " + operationTimeout
                            + "; nothing was applied", null)
                    : new QuotaOutcomeUnknownException(what + " did not complete within " + operationTimeout
                            + "; it may still be applied", null), recover),
                    operationTimeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            out.completeExceptionally(new QuotaUnavailableException("the quota manager is closed", closed));
            return out;
        }
        internal.whenComplete((value, error) -> deadline.cancel(false));
        return relay(internal, out, abandoned, recover);
    }

    /**
     * Completes {@code out} with {@code internal}'s outcome on the callback executor (on the completing thread once
     * the manager is closed). A value {@code out} no longer takes (timed out, cancelled) goes to {@code abandoned}.
     */
    private <T> CompletableFuture<T> relay(CompletableFuture<T> internal, CompletableFuture<T> out,
                                           java.util.function.Consumer<T> abandoned, Function<Throwable, T> recover) {
        internal.whenComplete((value, error) -> {
            Runnable complete = () -> {
                boolean delivered = error == null ? out.complete(value) : fail(out, toQuotaException(error), recover);
                if (!delivered && error == null && value != null && abandoned != null) {
                    abandoned.accept(value);
                }
            };
            try {
                callbacks.execute(complete);
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                complete.run();
            }
        });
        return out;
    }

    private static <T> boolean fail(CompletableFuture<T> out, Throwable error, Function<Throwable, T> recover) {
        if (recover == null) {
            return out.completeExceptionally(error);
        }
        try {
            return out.complete(recover.apply(error));
        } catch (RuntimeException e) {
            return out.completeExceptionally(Futures.unwrap(e));
        }
    }

    /** {@code internal} as the caller's future, completed on the callback executor; no deadline of its own. */
    <T> CompletableFuture<T> handOff(CompletableFuture<T> internal) {
        return relay(internal, new CompletableFuture<>(), null, null);
    }

    /** Amounts reserved under an account read lock that the caller now owns. */
    record Reserved(String account, Map<String, Long> amounts, Acquisition lock, long reservedAtMillis) {
    }

    /**
     * Reserves on the fast path ({@link FastReservations}), or on the slow path when that hands the request over;
     * {@code attachment} (may be null) is written in the reservation's transaction either way.
     */
    CompletableFuture<Reserved> reserve(String account, Map<String, Long> wanted,
                                        FastReservations.Attachment attachment) {
        return fast.reserve(account, wanted, attachment).thenCompose(r -> r != null
                ? CompletableFuture.completedFuture(r)
                : reserveSlowly(account, wanted, true, attachment));
    }

    /**
     * The slow path: takes the account's read lock (waiting for a refresh at most {@link #lockWait()}), reads the
     * counters and reserves with one fenced compare-and-swap. A stale counter is refreshed first only if the write
     * lock is free at once; staleness never makes a reservation wait. A missing counter is created from its
     * handler's figures in the reservation's own transaction.
     */
    private CompletableFuture<Reserved> reserveSlowly(String account, Map<String, Long> wanted, boolean mayRefresh,
                                                      FastReservations.Attachment attachment) {
        CompletableFuture<Map<String, Long>> quotas = queryAll(account, wanted.keySet(), UsedQuotaHandler::queryQuota);
        return lockAccount(account, false, lockWait()).thenCompose(lock -> counters.read(account, wanted.keySet())
                .thenCompose(current -> {
                    List<String> stale = arithmetic.stale(current);
                    if (!stale.isEmpty() && mayRefresh) {
                        return unlock(lock)
                                .thenCompose(v -> refreshIfFree(account, stale))
                                .thenCompose(refreshed -> reserveSlowly(account, wanted, false, attachment));
                    }
                    List<String> missing = current.entrySet().stream()
                            .filter(e -> !e.getValue().exists()).map(Map.Entry::getKey).toList();
                    CompletableFuture<Map<String, Long>> used = missing.isEmpty()
                            ? CompletableFuture.completedFuture(Map.of())
                            : queryAll(account, missing, UsedQuotaHandler::queryUsed);
                    return quotas.thenCombine(used, (limits, truth) -> Map.entry(limits, truth))
                            .thenCompose(figures -> counters.update(account, wanted.keySet(), current, Fence.of(lock),
                                    attachment == null ? List.of() : attachment.underLock(lock),
                                    plan -> arithmetic.reservePlan(account, wanted, figures.getKey(), figures.getValue(),
                                            plan)))
                            .thenApply(written -> new Reserved(account, wanted, lock, clock.millis()));
                })
                .exceptionallyCompose(error -> {
                    if (Futures.unwrap(error) instanceof OutcomeUnknownException unknown
                            && unknown.lostWrite() != null) {
                        if (attachment != null && attachment.keptWhenLost()) {
                            keepLostReservation(lock, unknown.lostWrite());
                            return CompletableFuture.failedFuture(unknown);
                        }
                        settleLostReservation(account, wanted, lock, unknown.lostWrite(), clock.millis());
                        return CompletableFuture.failedFuture(new EtcdUnavailableException("etcd did not confirm the"
                                + " reservation in time; if it landed, it is given back", unknown));
                    }
                    return unlock(lock).thenCompose(v -> CompletableFuture.failedFuture(error));
                }));
    }

    /**
     * A slow-path reservation whose write was neither confirmed nor settled in time: its caller is told it was not
     * applied, so it is settled here in the background, its lock still held: if it landed, its amounts are given
     * back (fenced by its lock, or under a new one if that ended; counters refreshed since are left alone); then
     * its lock is released.
     */
    private void settleLostReservation(String account, Map<String, Long> amounts, Acquisition lock,
                                       CounterStore.LostWrite lost, long failedAtMillis) {
        Futures.retry(() -> counters.settle(lost), LOST_WRITE_ATTEMPTS, LOST_WRITE_PAUSE, e -> true)
                .thenCompose(landed -> {
                    if (!landed) {
                        return CompletableFuture.<Void>completedFuture(null);
                    }
                    LOG.warn("a reservation of account '{}' reported as not applied had landed; giving it back", account);
                    return release(account, amounts, failedAtMillis, lock, false, Call.unbounded(),
                            "undo of a late reservation");
                })
                .whenComplete((v, e) -> {
                    if (e != null) {
                        LOG.error("could not settle a reservation of account '{}' whose answer was lost; a refresh"
                                + " corrects its counters: {}", account, Futures.unwrap(e).toString());
                    }
                    unlock(lock);
                });
    }

    /**
     * A slow-path reservation whose write was neither confirmed nor settled in time, and whose caller was told the
     * outcome is unknown (it retries with its idempotency key to learn it): if it landed it stands, holding its lock
     * until it is ended or its lease ends; if it did not, its lock is released.
     */
    private void keepLostReservation(Acquisition lock, CounterStore.LostWrite lost) {
        Futures.retry(() -> counters.settle(lost), LOST_WRITE_ATTEMPTS, LOST_WRITE_PAUSE, e -> true)
                .whenComplete((landed, e) -> {
                    if (e == null && !landed) {
                        unlock(lock); // surely not applied; when it cannot be told, the lock ends with its lease
                    }
                });
    }

    /**
     * Ends a reservation held in memory, giving {@code giveBack} back: ONE transaction lowers the counters and deletes
     * the reservation's lock entry, fenced by that entry ({@link EndGuard}). When the entry is gone already (its lease
     * ended), the amounts are given back under a read lock of its own, skipping counters refreshed since the
     * reservation. Nothing to give back is a plain release of the lock.
     */
    CompletableFuture<Void> commitHeld(String account, Map<String, Long> giveBack, Acquisition lock,
                                       long reservedAtMillis, Call call) {
        if (giveBack.isEmpty()) {
            return unlock(lock);
        }
        if (!call.beginWrite()) {
            return CompletableFuture.failedFuture(Call.abandonedBeforeWriting("the commit of a reservation"));
        }
        accountLocks.releasing(lock);
        EndGuard guard = new EndGuard(client, layout, counters.writeTimeout(), account, giveBack.keySet(), null,
                Fence.of(lock), lock.entryKey(), lock.revision(), null);
        return counters.update(account, giveBack.keySet(), null, guard, seen -> arithmetic.lowerPlan(account, giveBack, seen))
                .thenAccept(written -> accountLocks.deleted(lock))
                .exceptionallyCompose(error -> Futures.unwrap(error) instanceof LockLostException
                        ? release(account, giveBack, reservedAtMillis, null, false, call, "commit")
                        : CompletableFuture.failedFuture(error));
    }

    /**
     * Moves a held lock entry to a lease of its own of {@code by}, so the lock lives at least that long from now.
     * The transaction compares the entry's mod revision: an answer that was lost is settled by rewriting the entry
     * unchanged (then it can never land). Completes with the acquisition on its new lease.
     */
    CompletableFuture<Acquisition> extendHeld(Acquisition lock, Duration by) {
        ByteSequence entry = bytes(lock.entryKey());
        String what = "the extension of lock entry " + lock.entryKey();
        return Futures.bounded(client.getKVClient().get(entry), operationTimeout, "a read of " + lock.entryKey())
                .thenCompose(got -> {
                    if (got.getKvs().isEmpty() || got.getKvs().get(0).getCreateRevision() != lock.revision()) {
                        return CompletableFuture.failedFuture(Fence.of(lock).lost(what));
                    }
                    io.etcd.jetcd.KeyValue now = got.getKvs().get(0);
                    long seconds = (by.toMillis() + 999) / 1000;
                    return Futures.bounded(client.getLeaseClient().timeToLive(now.getLease(),
                                    io.etcd.jetcd.options.LeaseOption.DEFAULT), operationTimeout,
                                    "a read of the lease of " + lock.entryKey())
                            .thenCompose(left -> left.getTTL() >= seconds // lives long enough: never shortened
                                    ? CompletableFuture.completedFuture(lock)
                                    : Futures.bounded(client.getLeaseClient().grant(seconds), operationTimeout,
                                                    "a lease grant for " + what)
                                            .thenCompose(grant -> moveEntry(lock, now, grant.getID(), what)));
                });
    }

    private CompletableFuture<Acquisition> moveEntry(Acquisition lock, io.etcd.jetcd.KeyValue entry, long lease,
                                                     String what) {
        Cmp unchanged = new Cmp(entry.getKey(), Cmp.Op.EQUAL, CmpTarget.modRevision(entry.getModRevision()));
        Op read = Op.get(entry.getKey(), GetOption.builder().withKeysOnly(true).build());
        CompletableFuture<Boolean> moved = Futures.bounded(client.getKVClient().txn().If(unchanged)
                        .Then(Op.put(entry.getKey(), entry.getValue(), PutOption.builder().withLeaseId(lease).build()))
                        .Else(read).commit(), counters.writeTimeout(), what)
                .thenApply(response -> response.isSucceeded() || movedTo(lock, lease, response, what))
                .exceptionallyCompose(error -> !(Futures.unwrap(error) instanceof EtcdUnavailableException)
                        ? CompletableFuture.failedFuture(error)
                        // The answer was lost: rewrite the entry as it was, so that the move can never land now.
                        : Futures.bounded(client.getKVClient().txn().If(unchanged)
                                        .Then(Op.put(entry.getKey(), entry.getValue(),
                                                PutOption.builder().withLeaseId(entry.getLease()).build()))
                                        .Else(read).commit(), counters.writeTimeout(), "the settlement of " + what)
                                .thenApply(response -> !response.isSucceeded() && movedTo(lock, lease, response, what)));
        return moved.handle((landed, error) -> {
            if (error == null && landed) {
                accountLocks.releasing(lock); // its loss signal counted the old lease
                return new Acquisition(lock.lockKey(), lock.entryKey(), lock.write(), lease, lock.revision(), null,
                        true);
            }
            Futures.bounded(client.getLeaseClient().revoke(lease), operationTimeout, "a lease revoke")
                    .exceptionally(e -> null);
            throw new CompletionException(error != null ? Futures.unwrap(error) : new EtcdUnavailableException(what
                    + " was not applied (the entry changed meanwhile, or etcd did not answer in time); the lock keeps"
                    + " its lease", null));
        });
    }

    /** After a failed compare: whether the entry is on {@code lease} now; fails when the entry is gone. */
    private static boolean movedTo(Acquisition lock, long lease, io.etcd.jetcd.kv.TxnResponse response, String what) {
        List<io.etcd.jetcd.KeyValue> seen = response.getGetResponses().get(0).getKvs();
        if (seen.isEmpty() || seen.get(0).getCreateRevision() != lock.revision()) {
            throw Fence.of(lock).lost(what);
        }
        return seen.get(0).getLease() == lease;
    }

    /** Refreshes {@code resources} if the account's write lock can be taken at once; otherwise leaves them. */
    private CompletableFuture<Void> refreshIfFree(String account, List<String> resources) {
        return refreshUnder(account, false, resources, Duration.ZERO).handle((result, error) -> {
            if (error != null) {
                LOG.debug("stale counters of account '{}' not refreshed now ({}); reserving on them",
                        account, Futures.unwrap(error).getMessage());
            }
            return null;
        });
    }

    QuotaArithmetic arithmetic() {
        return arithmetic;
    }

    long nowMillis() {
        return arithmetic.nowMillis();
    }

    /** The current quota of each resource from its handler, on the handler executor. */
    CompletableFuture<Map<String, Long>> queryQuotas(String account, Set<String> resources) {
        return queryAll(account, resources, UsedQuotaHandler::queryQuota);
    }

    /**
     * Like {@link #prepareOccupyingAsync}, but the reservation is kept in etcd under a new id rather than in this
     * process, so that any process can end it with {@link #finishStoredAsync} or {@link #rollbackStoredAsync}: the
     * HTTP reservation API. It ends by itself when the lock lease time passes (its lease may outlive
     * {@code expiresAt} by up to two seconds).
     */
    public CompletableFuture<StoredReservation> prepareStoredAsync(String account, Map<String, Long> requirement) {
        return prepareStoredAsync(account, requirement, null);
    }

    /**
     * {@link #prepareStoredAsync(String, Map)} sent with an idempotency key (may be null): within the idempotency
     * window, the same key and request answer the reservation first made, and make no other. With a key, a
     * reservation whose outcome etcd did not confirm in time fails with {@link QuotaOutcomeUnknownException} and is
     * left as it lands: sending it again with the same key tells which it was.
     */
    public CompletableFuture<StoredReservation> prepareStoredAsync(String account, Map<String, Long> requirement,
                                                                   IdempotencyKey key) {
        long start = System.nanoTime();
        Requirements.account(account);
        Map<String, Long> wanted = Requirements.amounts("requirement", requirement, handlers.keySet());
        boolean noop = wanted.isEmpty() || !quotaEnabled.test(account);
        CompletableFuture<StoredReservation> made = etcdHealthy || noop
                ? stored.create(account, wanted, noop, key)
                : CompletableFuture.failedFuture(new EtcdUnavailableException("etcd failed its last health probe", null));
        CompletableFuture<StoredReservation> counted = made.thenApply(reservation -> {
            metrics.reservation(noop ? "noop" : "reserved", System.nanoTime() - start);
            return reservation;
        });
        Call call = new Call();
        java.util.function.Consumer<StoredReservation> abandoned = late -> stored.end(late.id(), Map.of(), null,
                Call.unbounded()).exceptionally(e -> {
                    LOG.warn("could not give back the abandoned reservation {}: {}", late.id(),
                            Futures.unwrap(e).getMessage());
                    return false;
                });
        if (key != null) {
            call.beginWrite(); // a deadline is "outcome unknown": a retry with the key tells
            abandoned = late -> LOG.info("reservation {} (idempotency key '{}') landed after its caller stopped"
                    + " waiting; it stands until ended or expired", late.id(), key.key());
        }
        // The caller gets the deliver'd future itself, so that cancelling it gives back a reservation landing later.
        return deliver(call, counted, "a stored reservation for account '" + account + "'", abandoned, cause -> {
            metrics.reservation(cause instanceof QuotaExceededException ? "exceeded" : "unavailable",
                    System.nanoTime() - start);
            throw new CompletionException(cause);
        });
    }

    /** A stored reservation by id, empty when unknown or ended. */
    public CompletableFuture<Optional<StoredReservation>> findStoredAsync(String id) {
        return deliver(stored.find(StoredReservations.requireId(id)), "a read of reservation " + id, null);
    }

    // --- Dry runs and reads of stored reservations (reservation lifecycle) -------------------------------------

    /**
     * Tells whether {@link #prepareOccupying} would reserve {@code requirement} for {@code account} now, without
     * reserving: returns when it would fit, or throws the {@link QuotaExceededException} the real call would throw
     * (the first short resource in the requirement's order, with the same requested, used and quota figures).
     * Nothing is written to etcd and no lock is taken. Input is checked as for {@code prepareOccupying}; quota off
     * for the account, or nothing asked, returns at once.
     *
     * <pre>{@code
     * quota.dryRun("account1", Map.of("CPUA", 2L)); // throws QuotaExceededException when 2 more CPUA would not fit
     * }</pre>
     *
     * <p>The figures are those a real reservation would decide on: the cached counter's {@code used} plus what is
     * reserved, and each resource's quota from its handler. A counter that is missing is judged on its handler's
     * {@code used}, as a reservation would create it. A counter older than the cache TTL is judged on its handler's
     * {@code used} too: a real call refreshes it first when the account's write lock is free, which is the usual
     * case, so the dry run answers as that refresh would (when reservations of the account are open, the real call
     * keeps the stale counter and may answer differently).
     *
     * <p>The answer is a snapshot: reservations made or ended after it may change what a real call answers. Unlike a
     * real reservation, a dry run does not let requests pass when etcd is unreachable in failure mode
     * {@link FailureMode#OPEN}: it throws {@link QuotaUnavailableException} in either mode.
     *
     * @throws QuotaExceededException when the real call would be refused
     * @throws QuotaUnavailableException when etcd or a handler cannot be reached within the operation timeout
     * @throws IllegalArgumentException for a null or empty account, an unknown resource or a negative amount
     */
    public void dryRun(String account, Map<String, Long> requirement) {
        join(dryRunAsync(account, requirement));
    }

    /**
     * {@link #dryRun} without blocking; argument errors are thrown at once. The future completes within the
     * operation timeout, on a thread of the manager's callback pool.
     */
    public CompletableFuture<Void> dryRunAsync(String account, Map<String, Long> requirement) {
        Requirements.account(account);
        Map<String, Long> wanted = Requirements.amounts("requirement", requirement, handlers.keySet());
        if (wanted.isEmpty() || !quotaEnabled.test(account)) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> checked = etcdHealthy
                ? dryRunCheck(account, wanted)
                : CompletableFuture.failedFuture(new EtcdUnavailableException("etcd failed its last health probe",
                        null));
        return deliver(checked, "a dry run for account '" + account + "'", null);
    }

    /** One read of the counters, the handlers' quotas and (for missing or stale counters) used figures. */
    private CompletableFuture<Void> dryRunCheck(String account, Map<String, Long> wanted) {
        CompletableFuture<Map<String, Long>> quotas = queryQuotas(account, wanted.keySet());
        return counters.read(account, wanted.keySet()).thenCompose(current -> {
            List<String> fromHandlers = current.entrySet().stream()
                    .filter(e -> !e.getValue().exists() || arithmetic.isStale(e.getValue().counter()))
                    .map(Map.Entry::getKey).toList();
            CompletableFuture<Map<String, Long>> truth = fromHandlers.isEmpty()
                    ? CompletableFuture.completedFuture(Map.of())
                    : queryAll(account, fromHandlers, UsedQuotaHandler::queryUsed);
            return quotas.thenCombine(truth, (limits, handlerUsed) -> {
                QuotaArithmetic.checkFits(account, wanted, limits, handlerUsed, current);
                return null;
            });
        });
    }

    /**
     * The open stored reservations of {@code account} (made with {@link #prepareStoredAsync} by any process),
     * sorted by the time they were made, then by id. Reservations that changed nothing (quota off, nothing asked)
     * are not stored and so not listed.
     *
     * <p>There is no index by account: this reads ALL open reservations of the namespace ({@code <ns>/reservations/})
     * in one bounded etcd read and keeps the account's, so its cost grows with the number of open reservations of
     * every account. A record that cannot be read is skipped (and logged).
     *
     * @throws IllegalArgumentException (at once) for a null or empty account
     */
    public CompletableFuture<List<StoredReservation>> listStoredAsync(String account) {
        Requirements.account(account);
        return deliver(stored.list(account), "a read of the reservations of account '" + account + "'", null);
    }

    /**
     * Ends a stored reservation (the Go edition's Finally), keeping its amounts. False when it is unknown or ended. Of
     * several processes ending one reservation at once, exactly one gets true.
     */
    public CompletableFuture<Boolean> finishStoredAsync(String id) {
        return finishStoredAsync(id, null, null);
    }

    /**
     * Ends a stored reservation keeping {@code keep} of its amounts (null: all; resources not named go back
     * entirely) and giving the rest back, in one transaction; with an idempotency key (may be null). False when it
     * is unknown or ended.
     *
     * @throws IllegalArgumentException (as the future's failure) when {@code keep} names a resource not reserved or
     *                                  more than was reserved; nothing changes then
     */
    public CompletableFuture<Boolean> finishStoredAsync(String id, Map<String, Long> keep, IdempotencyKey key) {
        String checked = StoredReservations.requireId(id);
        return deliverChange("the end of reservation " + id, call -> stored.end(checked, keep, key, call));
    }

    /**
     * Gives back a stored reservation's amounts and ends it. False when it is unknown or ended. Fails with
     * {@link QuotaOutcomeUnknownException} when etcd did not confirm it in time: a retry then answers false if the
     * first attempt did land (or, with the same idempotency key, true).
     */
    public CompletableFuture<Boolean> rollbackStoredAsync(String id) {
        return rollbackStoredAsync(id, null);
    }

    /** {@link #rollbackStoredAsync(String)} with an idempotency key (may be null). */
    public CompletableFuture<Boolean> rollbackStoredAsync(String id, IdempotencyKey key) {
        String checked = StoredReservations.requireId(id);
        return deliverChange("the rollback of reservation " + id, call -> stored.end(checked, Map.of(), key, call));
    }

    /**
     * Makes a stored reservation (its record and its lock) live at least {@code by} from now; never shortens it.
     * Empty when it is unknown or ended. Safe to repeat.
     *
     * @throws IllegalArgumentException for an extension that is not positive or longer than a day
     */
    public CompletableFuture<Optional<StoredReservation>> extendStoredAsync(String id, Duration by) {
        String checked = StoredReservations.requireId(id);
        Requirements.extension(by, StoredReservations.MAX_EXTENSION);
        return deliver(stored.extend(checked, by), "the extension of reservation " + id, null);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Releases

    /**
     * Lowers the counters of {@code account} by {@code amounts} when things are deleted. All or nothing: if one
     * counter would go below zero, nothing changes and {@link QuotaAbnormalException} is thrown. A counter that does
     * not exist yet is refreshed from its handler instead, since the source already reflects the deletion.
     */
    public void cleanUsed(String account, Map<String, Long> amounts) {
        join(cleanUsedAsync(account, amounts));
    }

    /**
     * {@link #cleanUsed} without blocking. Fails with {@link QuotaOutcomeUnknownException} when etcd did not confirm
     * the change in time and it may still land: do not simply call it again then.
     */
    public CompletableFuture<Void> cleanUsedAsync(String account, Map<String, Long> amounts) {
        return cleanUsedAsync(account, amounts, null);
    }

    /**
     * {@link #cleanUsedAsync(String, Map)} with an idempotency key (may be null): within the idempotency window the
     * same key and request apply nothing again.
     */
    public CompletableFuture<Void> cleanUsedAsync(String account, Map<String, Long> amounts, IdempotencyKey key) {
        Requirements.account(account);
        Map<String, Long> released = Requirements.amounts("amounts", amounts, handlers.keySet());
        if (released.isEmpty() || !quotaEnabled.test(account)) {
            return CompletableFuture.completedFuture(null);
        }
        return deliverChange("cleanUsed of account '" + account + "'", call -> releaseOnce(account, released,
                Long.MAX_VALUE, true, call, key, "cleanUsed"));
    }

    /**
     * Gives back {@code amounts} for a failure found after the fact, which happened at {@code errorTime}. Counters
     * refreshed after {@code errorTime} are skipped: the refresh already saw the truth. All or nothing over the
     * counters it changes.
     *
     * @throws QuotaAbnormalException if a counter would go below zero (nothing changes)
     * @throws QuotaOutcomeUnknownException if etcd did not confirm the change in time and it may still land
     * @throws IllegalArgumentException for a null {@code errorTime}, one more than 5 minutes in the future, or one
     *     before the earliest epoch millisecond ({@code Instant.ofEpochMilli(Long.MIN_VALUE)})
     */
    public void rollback(String account, Map<String, Long> amounts, Instant errorTime) {
        join(rollbackAsync(account, amounts, errorTime));
    }

    /** {@link #rollback(String, Map, Instant)} without blocking. */
    public CompletableFuture<Void> rollbackAsync(String account, Map<String, Long> amounts, Instant errorTime) {
        return rollbackAsync(account, amounts, errorTime, null);
    }

    /** {@link #rollbackAsync(String, Map, Instant)} with an idempotency key (may be null). */
    public CompletableFuture<Void> rollbackAsync(String account, Map<String, Long> amounts, Instant errorTime,
                                                 IdempotencyKey key) {
        Requirements.account(account);
        Map<String, Long> released = Requirements.amounts("amounts", amounts, handlers.keySet());
        Requirements.errorTime(errorTime, clock);
        if (released.isEmpty() || !quotaEnabled.test(account)) {
            return CompletableFuture.completedFuture(null);
        }
        return deliverChange("a rollback of account '" + account + "'", call -> releaseOnce(account, released,
                errorTime.toEpochMilli(), false, call, key, "rollback"));
    }

    /** A release sent with an idempotency key (may be null): its claim goes in the release's transaction. */
    private CompletableFuture<Void> releaseOnce(String account, Map<String, Long> amounts, long skipRefreshedAfter,
                                                boolean createMissing, Call call, IdempotencyKey key, String what) {
        CompletableFuture<Void> work = stored.idempotency().claim(key, Map.of("applied", true))
                .thenCompose(claim -> release(account, amounts, skipRefreshedAfter, null, createMissing, call,
                        claim == null ? List.of() : List.of(claim.also()), what));
        return Idempotency.replayed(work, outcome -> null);
    }

    /**
     * Lowers counters by {@code amounts}, skipping those refreshed after {@code skipRefreshedAfterMillis}, with one
     * transaction fenced by {@code heldLock} (the caller's read lock), or by a read lock taken for the change when
     * that is null. A missing counter is created from its handler's figures when {@code createMissing} (the source
     * already reflects the deletion), else skipped.
     */
    CompletableFuture<Void> release(String account, Map<String, Long> amounts, long skipRefreshedAfterMillis,
                                    Acquisition heldLock, boolean createMissing, Call call, String what) {
        return release(account, amounts, skipRefreshedAfterMillis, heldLock, createMissing, call, List.of(), what);
    }

    /** {@link #release} with more guarded changes in the same transaction ({@link CounterStore.Also}). */
    CompletableFuture<Void> release(String account, Map<String, Long> amounts, long skipRefreshedAfterMillis,
                                    Acquisition heldLock, boolean createMissing, Call call, List<CounterStore.Also> also,
                                    String what) {
        java.util.function.Function<Acquisition, CompletableFuture<Map<String, Counter>>> change = lock -> counters
                .read(account, amounts.keySet())
                .thenCompose(current -> {
                    List<String> missing = createMissing ? current.entrySet().stream()
                            .filter(e -> !e.getValue().exists()).map(Map.Entry::getKey).toList() : List.of();
                    CompletableFuture<Map<String, Object>> truth = missing.isEmpty()
                            ? CompletableFuture.completedFuture(Map.of())
                            : readTruth(account, missing);
                    return truth.thenCompose(figures -> call.beginWrite()
                            ? counters.update(account, amounts.keySet(), current, Fence.of(lock), also,
                                    seen -> arithmetic.releasePlan(account, amounts, seen, skipRefreshedAfterMillis,
                                            figures))
                            : CompletableFuture.failedFuture(Call.abandonedBeforeWriting(what)));
                });
        CompletableFuture<Map<String, Counter>> done = heldLock != null
                ? change.apply(heldLock).exceptionallyCompose(error -> Futures.unwrap(error) instanceof LockLostException
                        ? withReadLock(account, change) // the holder's lease ended: change under a lock of its own
                        : CompletableFuture.failedFuture(error))
                : withReadLock(account, change);
        return done.thenAccept(written -> LOG.debug("{} for account '{}' lowered {}", what, account, written.keySet()));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Refresh and check

    /**
     * Re-reads used and quota figures of {@code resources} (all when none is named) from the handlers and writes
     * them to the counters, under the account's write lock: it waits for reservations in flight to close and never
     * erases one. Without {@code force}, counters refreshed within the last second are skipped. A handler that
     * fails is logged and reported in the result, and its old counter is left in place.
     */
    public RefreshResult refresh(String account, boolean force, String... resources) {
        return join(refreshAsync(account, force, resources));
    }

    /**
     * {@link #refresh} without blocking. Waits for the account's write lock at most half the operation timeout, then
     * fails with {@link QuotaBusyException}: reservations left open do not make the account unavailable.
     */
    public CompletableFuture<RefreshResult> refreshAsync(String account, boolean force, String... resources) {
        Requirements.account(account);
        List<String> names = Requirements.resources(resources, handlers.keySet());
        if (!quotaEnabled.test(account)) {
            return CompletableFuture.completedFuture(new RefreshResult(account, List.of(), names, Map.of()));
        }
        return deliver(refreshUnder(account, force, names, lockWait()), "a refresh of account '" + account + "'",
                null);
    }

    /**
     * Re-syncs {@code names} (all resources when empty) under the account's write lock, taken within {@code wait}.
     * The handlers are asked while the lock is held, and the counters are written by a transaction fenced by the
     * lock's entry: a refresh whose lock ended meanwhile (a slow handler, a pause) writes nothing.
     */
    private CompletableFuture<RefreshResult> refreshUnder(String account, boolean force, List<String> names,
                                                          Duration wait) {
        List<String> all = names.isEmpty() ? List.copyOf(handlers.keySet()) : names;
        return lockAccount(account, true, wait).thenCompose(lock -> counters.read(account, all)
                .thenCompose(current -> {
                    List<String> skipped = new ArrayList<>();
                    List<String> due = arithmetic.dueForRefresh(all, current, force, REFRESH_DEBOUNCE, skipped);
                    return readTruth(account, due)
                            .thenCompose(truth -> writeTruth(account, current, truth, skipped, lock));
                })
                .handle((result, error) -> unlock(lock).thenCompose(v -> error == null
                        ? CompletableFuture.completedFuture(result)
                        : CompletableFuture.<RefreshResult>failedFuture(error)))
                .thenCompose(Function.identity()));
    }

    private CompletableFuture<RefreshResult> writeTruth(String account, Map<String, VersionedCounter> current,
                                                        Map<String, Object> truth, List<String> skipped,
                                                        Acquisition lock) {
        long now = clock.millis();
        Map<String, String> errors = new LinkedHashMap<>();
        Map<String, Counter> fresh = new LinkedHashMap<>();
        truth.forEach((resource, figures) -> {
            if (figures instanceof long[] usedAndQuota) {
                fresh.put(resource, new Counter(usedAndQuota[0], usedAndQuota[1], now));
            } else {
                errors.put(resource, (String) figures);
                LOG.warn("refresh of account '{}': {}", account, figures);
            }
        });
        Map<String, VersionedCounter> snapshot = new LinkedHashMap<>();
        fresh.keySet().forEach(resource -> snapshot.put(resource, current.get(resource)));
        // Under the write lock no reservation or release changes a counter's value (a settlement may rewrite one
        // unchanged: a new mod revision, the same value). Any other change is one this refresh must not erase.
        CompletableFuture<Map<String, Counter>> written = counters.update(account, fresh.keySet(), snapshot,
                Fence.of(lock), seen -> {
                    seen.forEach((resource, latest) -> {
                        if (!java.util.Objects.equals(latest.counter(), snapshot.get(resource).counter())) {
                            throw new EtcdUnavailableException("the counter of resource '" + resource + "' of account '"
                                    + account + "' changed during a refresh that held the write lock; not overwritten",
                                    null);
                        }
                    });
                    return fresh;
                });
        return written
                .thenCompose(w -> fresh.isEmpty()
                        ? CompletableFuture.completedFuture(null)
                        : counters.touchAccount(account, now))
                .thenApply(v -> new RefreshResult(account, List.copyOf(fresh.keySet()), skipped, errors));
    }

    /** Used and quota of each resource from its handler: a long[]{used, quota}, or the error message. */
    private CompletableFuture<Map<String, Object>> readTruth(String account, List<String> resources) {
        Map<String, CompletableFuture<Object>> calls = new LinkedHashMap<>();
        for (String resource : resources) {
            UsedQuotaHandler handler = handlers.get(resource);
            CompletableFuture<Object> call = CompletableFuture
                    .supplyAsync(() -> (Object) new long[] {callHandler(resource, account, handler::queryUsed),
                            callHandler(resource, account, handler::queryQuota)}, handlerExecutor)
                    .orTimeout(operationTimeout.toMillis(), TimeUnit.MILLISECONDS)
                    .exceptionally(error -> describeHandlerFailure(resource, account, Futures.unwrap(error)));
            calls.put(resource, call);
        }
        return CompletableFuture.allOf(calls.values().toArray(CompletableFuture[]::new)).thenApply(v -> {
            Map<String, Object> out = new LinkedHashMap<>();
            calls.forEach((resource, call) -> out.put(resource, call.join()));
            return out;
        });
    }

    /**
     * Compares, for each account and resource, the handlers' figures with the cached counter: what
     * {@code GET /used_quota} serves. With no accounts named, checks every account refreshed in the last 24 hours.
     * With {@code onlyErrors}, keeps only rows with a mismatch or an error, and leaves out accounts with none.
     */
    public Map<String, List<ResourceCheck>> check(List<String> accounts, boolean onlyErrors) {
        return join(checkAsync(accounts, onlyErrors));
    }

    /** {@link #check} without blocking. */
    public CompletableFuture<Map<String, List<ResourceCheck>>> checkAsync(List<String> accounts, boolean onlyErrors) {
        if (accounts == null) {
            throw new IllegalArgumentException("accounts must not be null (an empty list means the recent accounts)");
        }
        accounts.forEach(Requirements::account);
        CompletableFuture<List<String>> names = accounts.isEmpty()
                ? recentAccountsAsync(RECENT_ACCOUNTS_WINDOW)
                : CompletableFuture.completedFuture(accounts.stream().distinct().toList());
        return deliver(names.thenCompose(list -> {
            Map<String, CompletableFuture<List<ResourceCheck>>> perAccount = new LinkedHashMap<>();
            list.forEach(account -> perAccount.put(account, checkAccount(account, onlyErrors)));
            return CompletableFuture.allOf(perAccount.values().toArray(CompletableFuture[]::new)).thenApply(v -> {
                Map<String, List<ResourceCheck>> out = new LinkedHashMap<>();
                perAccount.forEach((account, rows) -> {
                    if (!onlyErrors || !rows.join().isEmpty()) {
                        out.put(account, rows.join());
                    }
                });
                return out;
            });
        }), "a check of " + (accounts.isEmpty() ? "the recent accounts" : accounts), null);
    }

    private CompletableFuture<List<ResourceCheck>> checkAccount(String account, boolean onlyErrors) {
        List<String> resources = handlers.keySet().stream().sorted().toList();
        CompletableFuture<Map<String, VersionedCounter>> cached = counters.read(account, resources);
        CompletableFuture<Map<String, Object>> real = readTruth(account, resources);
        CompletableFuture<LockMode> lock = locks.inspectAsync(lockKey(account)).thenApply(info -> info.mode());
        return CompletableFuture.allOf(cached, real, lock).thenApply(v -> {
            List<ResourceCheck> rows = new ArrayList<>();
            for (String resource : resources) {
                ResourceCheck row = checkRow(resource, cached.join().get(resource), real.join().get(resource), lock.join());
                if (!onlyErrors || row.error()) {
                    rows.add(row);
                }
            }
            return rows;
        });
    }

    private static ResourceCheck checkRow(String resource, VersionedCounter cached, Object real, LockMode lock) {
        Counter counter = cached.counter();
        long cacheUsed = counter == null ? 0 : counter.used();
        long cacheQuota = counter == null ? 0 : counter.quota();
        long refreshedAt = counter == null ? 0 : counter.refreshedAt();
        if (!(real instanceof long[] figures)) {
            return new ResourceCheck(resource, 0, 0, cacheQuota, cacheUsed, refreshedAt, true, (String) real, lock);
        }
        String error = "";
        if (counter == null) {
            error = "no cached counter";
        } else if (figures[0] != cacheUsed || figures[1] != cacheQuota) {
            error = "cache differs from the handler: used " + cacheUsed + " vs " + figures[0] + ", quota "
                    + cacheQuota + " vs " + figures[1];
        }
        return new ResourceCheck(resource, figures[1], figures[0], cacheQuota, cacheUsed, refreshedAt,
                !error.isEmpty(), error, lock);
    }

    /** The accounts in the index refreshed within {@code window}, sorted. */
    public List<String> recentAccounts(Duration window) {
        return join(recentAccountsAsync(window));
    }

    /** {@link #recentAccounts} without blocking. */
    public CompletableFuture<List<String>> recentAccountsAsync(Duration window) {
        long since = clock.millis() - window.toMillis();
        return deliver(counters.accounts().thenApply(all -> all.entrySet().stream()
                        .filter(e -> e.getValue() >= since)
                        .map(Map.Entry::getKey)
                        .sorted()
                        .toList()), "a read of the account index", null);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Background work

    /**
     * Loads the counters of every account {@code lister} names (a forced refresh each, in the background) and starts
     * the periodic over-quota scan. The returned future completes when the initial load is done; failures of single
     * accounts are logged, not fatal.
     */
    public CompletableFuture<Void> initResourceQuotaData(AccountLister lister) {
        if (lister == null) {
            throw new IllegalArgumentException("lister must not be null");
        }
        long every = overQuotaScanInterval.toMillis();
        scanner.scheduleWithFixedDelay(() -> scanOverQuota(lister), every, every, TimeUnit.MILLISECONDS);
        return CompletableFuture.supplyAsync(() -> listAccounts(lister), handlerExecutor).thenCompose(accounts -> {
            CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
            for (String account : accounts) {
                chain = chain.thenCompose(v -> refreshAsync(account, true)
                        .handle((result, error) -> {
                            if (error != null) {
                                LOG.warn("initial load of account '{}' failed: {}", account, Futures.unwrap(error).getMessage());
                            }
                            return null;
                        }));
            }
            return chain;
        });
    }

    /**
     * Asks the handlers of every account {@code lister} names whether used exceeds quota, and for each such
     * account and resource logs a warning, counts it and tells the {@link OverQuotaListener}. Returns the findings.
     */
    public List<ResourceCheck> scanOverQuota(AccountLister lister) {
        List<ResourceCheck> found = new ArrayList<>();
        try {
            for (String account : listAccounts(lister)) {
                if (!quotaEnabled.test(account)) {
                    continue;
                }
                Map<String, Object> truth = readTruth(account, handlers.keySet().stream().sorted().toList()).join();
                truth.forEach((resource, figures) -> {
                    if (figures instanceof long[] f && f[0] > f[1]) {
                        LOG.warn("account '{}' is over quota of '{}': used {} of {}", account, resource, f[0], f[1]);
                        metrics.overQuota(account, resource);
                        overQuotaListener.overQuota(account, resource, f[0], f[1]);
                        found.add(new ResourceCheck(resource, f[1], f[0], 0, 0, 0, true,
                                "used " + f[0] + " exceeds quota " + f[1], LockMode.NONE));
                    }
                });
            }
        } catch (RuntimeException e) {
            LOG.warn("over-quota scan failed: {}", e.getMessage(), e);
        }
        return found;
    }

    private static List<String> listAccounts(AccountLister lister) {
        try {
            List<String> accounts = lister.accounts();
            return accounts == null ? List.of() : accounts;
        } catch (Exception e) {
            throw new QuotaUnavailableException("the account lister failed: " + e.getMessage(), e);
        }
    }

    private void probeEtcd() {
        boolean healthy;
        try {
            Futures.bounded(client.getKVClient().get(bytes(layout.namespace()), GetOption.builder().withCountOnly(true).build()),
                    probeTimeout, "the health probe").join();
            healthy = true;
        } catch (RuntimeException e) {
            healthy = false;
        }
        if (healthy != etcdHealthy) {
            if (healthy) {
                LOG.info("etcd answers again");
            } else {
                LOG.warn("etcd failed its health probe; reservations {} until it answers",
                        failureMode == FailureMode.CLOSED ? "fail fast" : "pass unchecked");
            }
        }
        etcdHealthy = healthy;
        metrics.etcdHealthy(healthy);
    }

    /**
     * How many counter transactions of this manager lost their compare to a concurrent change and were planned
     * again, since it was built: the retries that contention on accounts costs.
     */
    public long conflictCount() {
        return conflicts.sum();
    }

    /** How many reservations the fast path handed to the slow path (for tests in this package). */
    long slowPathReservations() {
        return fast.handedToSlowPath();
    }

    /** How many fast-path batches committed on a counter state they planned for speculatively (for tests). */
    long speculativeCommits() {
        return fast.speculativeHits();
    }

    void countConflict() {
        conflicts.increment();
    }

    /** Whether etcd answered the last health probe. */
    public boolean isEtcdHealthy() {
        return etcdHealthy;
    }

    /** The registered resource names. */
    public Set<String> resources() {
        return handlers.keySet();
    }

    /** The namespace counters live under. */
    public String namespace() {
        return layout.namespace();
    }

    /** Stops the background work. Does not close the etcd client. Reservations still open end with their leases. */
    @Override
    public void close() {
        prober.shutdownNow();
        scanner.shutdownNow();
        deadlines.shutdownNow();
        if (ownedCallbacks != null) {
            ownedCallbacks.shutdown();
        }
        if (ownedHandlerExecutor != null) {
            ownedHandlerExecutor.shutdownNow();
        }
        accountLocks.close();
        locks.close();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Plumbing

    /** The name of the lock that guards an account's counters: {@code <ns>/locks/quota%2F<account>/}. */
    static String lockKey(String account) {
        return "quota/" + account;
    }

    private static long newOwnerId() {
        return ThreadLocalRandom.current().nextLong();
    }

    /** How long a call waits for the account's lock: half the operation timeout, leaving the rest for its work. */
    private Duration lockWait() {
        return operationTimeout.dividedBy(2);
    }

    /**
     * Takes the account's read or write lock, waiting at most {@code wait}; fails with {@link QuotaBusyException}
     * when it is not granted in time (the entry is gone from etcd by then).
     */
    CompletableFuture<Acquisition> lockAccount(String account, boolean write, Duration wait) {
        CompletableFuture<Acquisition> acquired = write
                ? writeLockAccount(account, wait, System.nanoTime() + wait.toNanos())
                : accountLocks.acquire(lockKey(account), false, newOwnerId(), lockLeaseTime, false, wait);
        return acquired.thenApply(lock -> {
            if (lock == null) {
                throw busy(account, write, wait, null);
            }
            return lock;
        });
    }

    private static QuotaBusyException busy(String account, boolean write, Duration wait, Throwable cause) {
        return new QuotaBusyException(account, "the " + (write ? "write" : "read") + " lock of account '" + account
                + "' was not acquired within " + wait + (write ? " (reservations of the account stay open)"
                : " (a refresh of the account holds or waits for the write lock)"), cause);
    }

    /**
     * Queues for the account's write lock while rewriting the account's index key in the same transaction, so that a
     * fast-path reservation prepared before this writer queued fails its compare on that key and sees the writer
     * ({@link FastReservations}). The rewrite keeps the key's value (a new account gets {@code refreshedAt} 0 until its
     * refresh completes); it is compared, so it never erases a newer value, and retried while the key changes under
     * it, until {@code deadline}; then the account is busy.
     */
    private CompletableFuture<Acquisition> writeLockAccount(String account, Duration wait, long deadline) {
        return counters.readAccountIndex(account).thenCompose(index -> {
            ByteSequence key = bytes(layout.accountKey(account));
            Cmp unchanged = index == null
                    ? new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
                    : new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(index.getModRevision()));
            Op rewrite = Op.put(key, index == null ? Json.write(Map.of("refreshedAt", 0L)) : index.getValue(),
                    PutOption.DEFAULT);
            Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
            return accountLocks.acquire(lockKey(account), true, newOwnerId(), lockLeaseTime, false, left,
                            new EnqueueGuard(List.of(unchanged), List.of(rewrite)))
                    .exceptionallyCompose(error -> {
                        if (!(Futures.unwrap(error) instanceof EnqueueGuard.ConflictException)) {
                            return CompletableFuture.failedFuture(error);
                        }
                        if (System.nanoTime() < deadline) {
                            return writeLockAccount(account, wait, deadline);
                        }
                        return CompletableFuture.failedFuture(busy(account, true, wait, null));
                    });
        });
    }

    /** Releases an account lock; the returned future completes when its key is gone (or failed to go). */
    CompletableFuture<Void> unlock(Acquisition lock) {
        return accountLocks.release(lock).handle((wasHeld, error) -> {
            if (error != null) {
                LOG.warn("could not release lock '{}' (it ends with its lease): {}", lock.lockKey(),
                        Futures.unwrap(error).getMessage());
            } else if (!wasHeld) {
                LOG.warn("lock '{}' had ended with its lease before its release", lock.lockKey());
            }
            return null;
        });
    }

    <T> CompletableFuture<T> withReadLock(String account, Function<Acquisition, CompletableFuture<T>> work) {
        return lockAccount(account, false, lockWait()).thenCompose(lock -> work.apply(lock)
                .handle((result, error) -> unlock(lock).thenCompose(v -> error == null
                        ? CompletableFuture.completedFuture(result)
                        : CompletableFuture.<T>failedFuture(error)))
                .thenCompose(Function.identity()));
    }

    private CompletableFuture<Map<String, Long>> queryAll(String account, java.util.Collection<String> resources,
                                                          HandlerQuery query) {
        Map<String, CompletableFuture<Long>> calls = new LinkedHashMap<>();
        for (String resource : resources) {
            UsedQuotaHandler handler = handlers.get(resource);
            calls.put(resource, CompletableFuture
                    .supplyAsync(() -> callHandler(resource, account, a -> query.ask(handler, a)), handlerExecutor)
                    .orTimeout(operationTimeout.toMillis(), TimeUnit.MILLISECONDS));
        }
        return CompletableFuture.allOf(calls.values().toArray(CompletableFuture[]::new))
                .handle((v, error) -> {
                    if (error != null) {
                        Throwable cause = Futures.unwrap(error);
                        throw new CompletionException(cause instanceof QuotaUnavailableException
                                ? cause
                                : new QuotaUnavailableException("a quota handler did not answer for account '"
                                        + account + "' within " + operationTimeout, cause));
                    }
                    Map<String, Long> out = new LinkedHashMap<>();
                    calls.forEach((resource, call) -> out.put(resource, call.join()));
                    return out;
                });
    }

    @FunctionalInterface
    private interface HandlerQuery {
        long ask(UsedQuotaHandler handler, String account) throws Exception;
    }

    @FunctionalInterface
    private interface HandlerCall {
        long call(String account) throws Exception;
    }

    private static long callHandler(String resource, String account, HandlerCall call) {
        try {
            return call.call(account);
        } catch (Exception e) {
            throw new QuotaUnavailableException("the handler of resource '" + resource + "' failed for account '"
                    + account + "': " + e, e);
        }
    }

    private String describeHandlerFailure(String resource, String account, Throwable error) {
        if (error instanceof java.util.concurrent.TimeoutException) {
            return "the handler of resource '" + resource + "' did not answer for account '" + account + "' within "
                    + operationTimeout;
        }
        return error.getMessage();
    }

    /** The one mapping of internal failures to the {@link QuotaException} family. */
    static Throwable toQuotaException(Throwable error) {
        Throwable cause = Futures.unwrap(error);
        if (cause instanceof OutcomeUnknownException) {
            return new QuotaOutcomeUnknownException(cause.getMessage(), cause);
        }
        if (cause instanceof EtcdUnavailableException || cause instanceof LockUnavailableException
                || cause instanceof LockLostException) {
            return new QuotaUnavailableException(cause.getMessage(), cause);
        }
        return cause;
    }

    /**
     * Waits for a caller's future. An interrupt gives the call up (its future is cancelled, so a reservation that
     * lands later is given back) and is reported as "not applied", or as "outcome unknown" for a change that had
     * begun writing.
     */
    static <T> T join(CompletableFuture<T> future) {
        return Futures.join(future, cause -> {
            if (!(cause instanceof InterruptedException)) {
                return new QuotaException(String.valueOf(cause.getMessage()), cause);
            }
            return future instanceof CallFuture<?> call && call.wroteBeforeCancel()
                    ? new QuotaOutcomeUnknownException("interrupted while a change was being written; it may still"
                            + " be applied", cause)
                    : new QuotaUnavailableException("interrupted while waiting for etcd; nothing was applied", cause);
        });
    }

    /** A caller's future, tied to its {@link Call}: cancelling it abandons the call. */
    private static final class CallFuture<T> extends CompletableFuture<T> {
        private final Call call;
        private volatile boolean wroteBeforeCancel;

        CallFuture(Call call) {
            this.call = call;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean cancelled = super.cancel(mayInterruptIfRunning);
            if (cancelled) {
                wroteBeforeCancel = !call.abandon();
            }
            return cancelled;
        }

        boolean wroteBeforeCancel() {
            return wroteBeforeCancel;
        }

        @Override
        public <U> CompletableFuture<U> newIncompleteFuture() {
            return new CompletableFuture<>();
        }
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Settings of a {@link QuotaManager}; each is checked when set, and {@link #build()} checks the whole. */
    public static final class Builder {
        private final Client client;
        private final Map<String, UsedQuotaHandler> handlers = new LinkedHashMap<>();
        private String namespace = KeyLayout.DEFAULT_NAMESPACE;
        private Duration cacheTtl = DEFAULT_CACHE_TTL;
        private Duration healthCheckInterval = DEFAULT_HEALTH_CHECK_INTERVAL;
        private Duration lockLeaseTime = DEFAULT_LOCK_LEASE_TIME;
        private Duration operationTimeout = DEFAULT_OPERATION_TIMEOUT;
        private Duration overQuotaScanInterval = DEFAULT_OVER_QUOTA_SCAN_INTERVAL;
        private Duration idempotencyWindow = DEFAULT_IDEMPOTENCY_WINDOW;
        private Predicate<String> quotaEnabled = account -> true;
        private FailureMode failureMode = FailureMode.CLOSED;
        private Clock clock = Clock.systemUTC();
        private Executor handlerExecutor;
        private Executor callbackExecutor;
        private QuotaMetrics metrics = QuotaMetrics.NONE;
        private io.woslo.internal.LockMetrics lockMetrics = io.woslo.internal.LockMetrics.NONE;
        private OverQuotaListener overQuotaListener = (account, resource, used, quota) -> { };

        private Builder(Client client) {
            if (client == null) {
                throw new IllegalArgumentException("client must not be null");
            }
            this.client = client;
        }

        /** Registers a resource and the handler that knows its real used and quota figures. */
        public Builder resource(String name, UsedQuotaHandler handler) {
            KeyLayout.requireName("resource", name);
            if (handler == null) {
                throw new IllegalArgumentException("handler of resource '" + name + "' must not be null");
            }
            if (handlers.containsKey(name)) {
                throw new IllegalArgumentException("resource '" + name + "' is registered twice");
            }
            if (handlers.size() == MAX_RESOURCES) {
                throw new IllegalArgumentException("cannot register resource '" + name + "': at most " + MAX_RESOURCES
                        + " resources, so that a reservation of all of them fits one etcd transaction");
            }
            handlers.put(name, handler);
            return this;
        }

        /** Key prefix, default {@code /woslo}. */
        public Builder namespace(String namespace) {
            this.namespace = KeyLayout.validateNamespace(namespace);
            return this;
        }

        /** How long a counter may go without a refresh before a reservation re-reads it (the Go edition's expireTime), default 3 minutes. */
        public Builder cacheTtl(Duration ttl) {
            this.cacheTtl = positive("cacheTtl", ttl);
            return this;
        }

        /** How often etcd's health is probed (the Go edition's interval), default 1 second. */
        public Builder healthCheckInterval(Duration interval) {
            this.healthCheckInterval = positive("healthCheckInterval", interval);
            return this;
        }

        /** Lease time of the account locks a reservation or refresh holds, default 1 minute (at least 1 second). */
        public Builder lockLeaseTime(Duration leaseTime) {
            positive("lockLeaseTime", leaseTime);
            if (leaseTime.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("lockLeaseTime must be at least 1 second (etcd leases count whole"
                        + " seconds), got " + leaseTime);
            }
            this.lockLeaseTime = leaseTime;
            return this;
        }

        /** The bound on each etcd or handler call before {@link QuotaUnavailableException}, default 10 seconds. */
        public Builder operationTimeout(Duration timeout) {
            this.operationTimeout = positive("operationTimeout", timeout);
            return this;
        }

        /** How often {@link #initResourceQuotaData} scans for accounts over quota, default 24 hours. */
        public Builder overQuotaScanInterval(Duration interval) {
            this.overQuotaScanInterval = positive("overQuotaScanInterval", interval);
            return this;
        }

        /**
         * How long the first outcome of a change sent with an {@link IdempotencyKey} is kept, default 24 hours (at
         * least 1 second).
         */
        public Builder idempotencyWindow(Duration window) {
            positive("idempotencyWindow", window);
            if (window.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("idempotencyWindow must be at least 1 second, got " + window);
            }
            this.idempotencyWindow = window;
            return this;
        }

        /** Accounts for which this returns false get no-op reservations, and nothing is written to etcd for them. */
        public Builder quotaEnabled(Predicate<String> enabled) {
            if (enabled == null) {
                throw new IllegalArgumentException("quotaEnabled must not be null");
            }
            this.quotaEnabled = enabled;
            return this;
        }

        /** What reservations do when etcd is unreachable; default {@link FailureMode#CLOSED}. */
        public Builder failureMode(FailureMode mode) {
            if (mode == null) {
                throw new IllegalArgumentException("failureMode must not be null");
            }
            this.failureMode = mode;
            return this;
        }

        /** The clock of refresh times, cache age and error times; tests inject one. Default: system UTC. */
        public Builder clock(Clock clock) {
            if (clock == null) {
                throw new IllegalArgumentException("clock must not be null");
            }
            this.clock = clock;
            return this;
        }

        /** Where handlers run; default a pool of daemon threads the manager owns. Never give an event loop. */
        public Builder handlerExecutor(Executor executor) {
            if (executor == null) {
                throw new IllegalArgumentException("handlerExecutor must not be null");
            }
            this.handlerExecutor = executor;
            return this;
        }

        /**
         * Where the futures handed to callers complete; default a pool of daemon threads the manager owns, so that a
         * continuation that blocks (even on another WOSLO call) never holds up a thread WOSLO needs. Give a direct
         * executor ({@code Runnable::run}) only when every continuation returns at once, e.g. one that hands the
         * result to an event loop (Vert.x's {@code Future.fromCompletionStage(future, context)}): it saves a thread
         * hop per call.
         */
        public Builder callbackExecutor(Executor executor) {
            if (executor == null) {
                throw new IllegalArgumentException("callbackExecutor must not be null");
            }
            this.callbackExecutor = executor;
            return this;
        }

        /**
         * Records metrics in a Micrometer registry (an optional dependency, then needed on the classpath):
         * {@code woslo.quota.reservations{outcome}} (a timer of reservations by outcome: {@code reserved},
         * {@code exceeded}, {@code unavailable}, {@code fail_open}, {@code noop}), {@code woslo.quota.over.quota
         * {resource}}, {@code woslo.etcd.healthy} (1 or 0, the last health probe), and the account locks' meters
         * as {@link io.woslo.lock.RwLocks.Builder#meterRegistry} describes them (each reservation's read entry
         * counts as a read acquisition).
         */
        public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
            if (registry == null) {
                throw new IllegalArgumentException("meterRegistry must not be null");
            }
            this.metrics = new MicrometerQuotaMetrics(registry);
            this.lockMetrics = new io.woslo.internal.MicrometerLockMetrics(registry);
            return this;
        }

        /** Told of each account and resource the over-quota scan finds. */
        public Builder overQuotaListener(OverQuotaListener listener) {
            if (listener == null) {
                throw new IllegalArgumentException("overQuotaListener must not be null");
            }
            this.overQuotaListener = listener;
            return this;
        }

        public QuotaManager build() {
            if (handlers.isEmpty()) {
                throw new IllegalArgumentException("no resource registered: call resource(name, handler) at least once");
            }
            return new QuotaManager(this);
        }

        private static Duration positive(String what, Duration value) {
            if (value == null) {
                throw new IllegalArgumentException(what + " must not be null");
            }
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(what + " must be positive, got " + value);
            }
            return value;
        }
    }
}
