package io.woslo.quota;

import io.etcd.jetcd.Client;
import io.woslo.internal.CounterStore;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Futures;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LockEngine;
import io.woslo.internal.TxnCombiner;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
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
    /** {@link #refresh} without {@code force} skips counters refreshed more recently than this. */
    public static final Duration REFRESH_DEBOUNCE = Duration.ofSeconds(1);
    /** {@link #check} with no account names lists the accounts refreshed within this window. */
    public static final Duration RECENT_ACCOUNTS_WINDOW = Duration.ofHours(24);

    private final KeyLayout layout;
    private final Handlers handlers;
    private final Predicate<String> quotaEnabled;
    private final FailureMode failureMode;
    private final Clock clock;
    private final QuotaMetrics metrics;
    private final LongAdder conflicts = new LongAdder();
    // The parts, each one idea; none holds a reference back to this façade.
    private final Delivery delivery;
    private final AccountLock locks;
    private final Releases releases;
    private final Refresher refresher;
    private final Reserver reserver;
    private final HeldReservations held;
    private final StoredReservations stored;
    private final StoredEnds storedEnds;
    private final StoredExtension storedExtension;
    private final Checker checker;
    private final Background background;

    private QuotaManager(Builder b) {
        this.layout = new KeyLayout(b.namespace);
        this.handlers = new Handlers(b.handlers, b.handlerExecutor, b.operationTimeout);
        this.quotaEnabled = b.quotaEnabled;
        this.failureMode = b.failureMode;
        this.clock = b.clock;
        this.metrics = b.metrics;
        this.delivery = new Delivery(b.operationTimeout, b.callbackExecutor);
        QuotaArithmetic arithmetic = new QuotaArithmetic(b.clock, b.cacheTtl);
        CounterStore counters = new CounterStore(b.client, layout, b.operationTimeout, conflicts);
        // One group commit for the fast path's reservations and the releases of their entries: a close rides in the
        // next reservation's transaction instead of costing one of its own.
        TxnCombiner combiner = new TxnCombiner(b.client.getKVClient(), b.operationTimeout);
        this.locks = new AccountLock(new LockEngine(b.client, layout, b.operationTimeout, combiner, b.lockMetrics),
                layout, counters, b.lockLeaseTime, b.operationTimeout);
        Idempotency idempotency = new Idempotency(b.client, layout, b.idempotencyWindow, b.operationTimeout);
        this.releases = new Releases(counters, locks, handlers, arithmetic, idempotency);
        this.refresher = new Refresher(counters, locks, handlers, arithmetic);
        this.reserver = new Reserver(
                new FastReservations(b.client, layout, locks, combiner, b.operationTimeout, b.lockLeaseTime,
                        arithmetic, handlers, releases, conflicts),
                new SlowReserver(counters, locks, handlers, arithmetic, refresher, releases));
        this.held = new HeldReservations(b.client, layout, counters, locks, releases, arithmetic, delivery,
                b.operationTimeout);
        this.stored = new StoredReservations(b.client, layout, idempotency, arithmetic, reserver,
                b.operationTimeout, b.lockLeaseTime);
        this.storedEnds = new StoredEnds(b.client, layout, counters, idempotency, locks, arithmetic,
                b.operationTimeout);
        this.storedExtension = new StoredExtension(b.client, layout, counters, arithmetic, b.operationTimeout);
        this.checker = new Checker(counters, locks, handlers, arithmetic);
        this.background = new Background(new Background.Settings(b.client.getKVClient(), layout.namespace(), handlers,
                b.metrics, b.overQuotaListener, b.failureMode, b.quotaEnabled, b.healthCheckInterval,
                b.operationTimeout, b.overQuotaScanInterval));
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
        Map<String, Long> wanted = Requirements.amounts("requirement", requirement, handlers.names());
        if (wanted.isEmpty() || !quotaEnabled.test(account)) {
            metrics.reservation("noop", System.nanoTime() - start);
            return CompletableFuture.completedFuture(QuotaReservation.noop(held, account));
        }
        CompletableFuture<Reservation> reserved = background.etcdHealthy()
                ? reserver.reserve(account, wanted, null).thenApply(r -> (Reservation) new QuotaReservation(held, r))
                : CompletableFuture.failedFuture(new EtcdUnavailableException(
                        "etcd failed its last health probe", null));
        CompletableFuture<Reservation> counted = reserved.thenApply(reservation -> {
            metrics.reservation("reserved", System.nanoTime() - start);
            return reservation;
        });
        return delivery.deliver(new Call(), counted, "a reservation for account '" + account + "'",
                QuotaManager::giveBack, cause -> {
                    if (cause instanceof QuotaExceededException) {
                        metrics.reservation("exceeded", System.nanoTime() - start);
                    } else if (cause instanceof QuotaUnavailableException && failureMode == FailureMode.OPEN) {
                        metrics.reservation("fail_open", System.nanoTime() - start);
                        LOG.warn("etcd unavailable, letting a reservation for account '{}' of {} pass (failure mode"
                                + " OPEN): {}", account, wanted, cause.getMessage());
                        return QuotaReservation.noop(held, account);
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
        Map<String, Long> wanted = Requirements.amounts("requirement", requirement, handlers.names());
        boolean noop = wanted.isEmpty() || !quotaEnabled.test(account);
        CompletableFuture<StoredReservation> made = background.etcdHealthy() || noop
                ? stored.create(account, wanted, noop, key)
                : CompletableFuture.failedFuture(
                        new EtcdUnavailableException("etcd failed its last health probe", null));
        CompletableFuture<StoredReservation> counted = made.thenApply(reservation -> {
            metrics.reservation(noop ? "noop" : "reserved", System.nanoTime() - start);
            return reservation;
        });
        Call call = new Call();
        Consumer<StoredReservation> abandoned = late -> storedEnds.end(late.id(), Map.of(), null,
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
        return delivery.deliver(call, counted, "a stored reservation for account '" + account + "'", abandoned,
                cause -> {
            metrics.reservation(cause instanceof QuotaExceededException ? "exceeded" : "unavailable",
                    System.nanoTime() - start);
            throw new CompletionException(cause);
        });
    }

    /** A stored reservation by id, empty when unknown or ended. */
    public CompletableFuture<Optional<StoredReservation>> findStoredAsync(String id) {
        return delivery.deliver(stored.find(ReservationIds.require(id)), "a read of reservation " + id, null);
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
        Map<String, Long> wanted = Requirements.amounts("requirement", requirement, handlers.names());
        if (wanted.isEmpty() || !quotaEnabled.test(account)) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> checked = background.etcdHealthy()
                ? checker.dryRun(account, wanted)
                : CompletableFuture.failedFuture(new EtcdUnavailableException("etcd failed its last health probe",
                        null));
        return delivery.deliver(checked, "a dry run for account '" + account + "'", null);
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
        return delivery.deliver(stored.list(account), "a read of the reservations of account '" + account + "'", null);
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
        String checked = ReservationIds.require(id);
        return delivery.deliverChange("the end of reservation " + id, call -> storedEnds.end(checked, keep, key, call));
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
        String checked = ReservationIds.require(id);
        return delivery.deliverChange("the rollback of reservation " + id,
                call -> storedEnds.end(checked, Map.of(), key, call));
    }

    /**
     * Makes a stored reservation (its record and its lock) live at least {@code by} from now; never shortens it.
     * Empty when it is unknown or ended. Safe to repeat.
     *
     * @throws IllegalArgumentException for an extension that is not positive or longer than a day
     */
    public CompletableFuture<Optional<StoredReservation>> extendStoredAsync(String id, Duration by) {
        String checked = ReservationIds.require(id);
        Requirements.extension(by, ReservationIds.MAX_EXTENSION);
        return delivery.deliver(storedExtension.extend(checked, by), "the extension of reservation " + id, null);
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
        Map<String, Long> released = Requirements.amounts("amounts", amounts, handlers.names());
        if (released.isEmpty() || !quotaEnabled.test(account)) {
            return CompletableFuture.completedFuture(null);
        }
        return delivery.deliverChange("cleanUsed of account '" + account + "'",
                call -> releases.releaseOnce(account, released, Long.MAX_VALUE, true, call, key, "cleanUsed"));
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
        Map<String, Long> released = Requirements.amounts("amounts", amounts, handlers.names());
        Requirements.errorTime(errorTime, clock);
        if (released.isEmpty() || !quotaEnabled.test(account)) {
            return CompletableFuture.completedFuture(null);
        }
        return delivery.deliverChange("a rollback of account '" + account + "'",
                call -> releases.releaseOnce(account, released, errorTime.toEpochMilli(), false, call, key,
                        "rollback"));
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
        List<String> names = Requirements.resources(resources, handlers.names());
        if (!quotaEnabled.test(account)) {
            return CompletableFuture.completedFuture(new RefreshResult(account, List.of(), names, Map.of()));
        }
        return delivery.deliver(refresher.refresh(account, force, names, locks.lockWait()),
                "a refresh of account '" + account + "'", null);
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
        return delivery.deliver(names.thenCompose(list -> checker.check(list, onlyErrors)),
                "a check of " + (accounts.isEmpty() ? "the recent accounts" : accounts), null);
    }

    /** The accounts in the index refreshed within {@code window}, sorted. */
    public List<String> recentAccounts(Duration window) {
        return join(recentAccountsAsync(window));
    }

    /** {@link #recentAccounts} without blocking. */
    public CompletableFuture<List<String>> recentAccountsAsync(Duration window) {
        return delivery.deliver(checker.recentAccounts(window), "a read of the account index", null);
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
        return background.initialLoad(lister, account -> refreshAsync(account, true));
    }

    /**
     * Asks the handlers of every account {@code lister} names whether used exceeds quota, and for each such
     * account and resource logs a warning, counts it and tells the {@link OverQuotaListener}. Returns the findings.
     */
    public List<ResourceCheck> scanOverQuota(AccountLister lister) {
        return background.scanOverQuota(lister);
    }

    /**
     * How many counter transactions of this manager lost their compare to a concurrent change and were planned
     * again, since it was built: the retries that contention on accounts costs.
     */
    public long conflictCount() {
        return conflicts.sum();
    }

    /** The accounts' read-write lock (for tests in this package). */
    AccountLock accountLock() {
        return locks;
    }

    /** How many reservations the fast path handed to the slow path (for tests in this package). */
    long slowPathReservations() {
        return reserver.handedToSlowPath();
    }

    /** How many fast-path batches committed on a counter state they planned for speculatively (for tests). */
    long speculativeCommits() {
        return reserver.speculativeHits();
    }

    /** Whether etcd answered the last health probe. */
    public boolean isEtcdHealthy() {
        return background.etcdHealthy();
    }

    /** The registered resource names. */
    public Set<String> resources() {
        return handlers.names();
    }

    /** The namespace counters live under. */
    public String namespace() {
        return layout.namespace();
    }

    /** Stops the background work. Does not close the etcd client. Reservations still open end with their leases. */
    @Override
    public void close() {
        background.close();
        delivery.close();
        handlers.close();
        locks.close();
    }

    /**
     * Waits for a caller's future; an interrupt gives the call up (see {@link Failures#join}). For this package's
     * reservations and tests.
     */
    static <T> T join(CompletableFuture<T> future) {
        return Failures.join(future);
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

        /**
         * How long a counter may go without a refresh before a reservation re-reads it (the Go edition's expireTime),
         * default 3 minutes.
         */
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
                throw new IllegalArgumentException(
                        "no resource registered: call resource(name, handler) at least once");
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
