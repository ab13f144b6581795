package io.woslo.fault;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.woslo.fault.History.Op;
import io.woslo.fault.History.Outcome;
import io.woslo.fault.History.Type;
import io.woslo.lock.DistributedLock;
import io.woslo.lock.LockTimeoutException;
import io.woslo.lock.RwLocks;
import io.woslo.quota.IdempotencyKey;
import io.woslo.quota.QuotaAbnormalException;
import io.woslo.quota.QuotaBusyException;
import io.woslo.quota.QuotaExceededException;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.QuotaOutcomeUnknownException;
import io.woslo.quota.QuotaUnavailableException;
import io.woslo.quota.RefreshResult;
import io.woslo.quota.Reservation;
import io.woslo.quota.StoredReservation;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.FaultInterceptor;
import io.woslo.testing.SwitchableHandler;
import io.woslo.testing.TestTimeouts;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A randomized workload with scheduled faults, everything drawn from one seed, recorded in a {@link History} and
 * checked by the {@link HistoryChecker} at the end: several {@link QuotaManager}s and {@link RwLocks} on several
 * jetcd clients of a three-member cluster (client {@code c0} talks to member {@code m0} only, so its watch streams
 * live there), doing reservations held 50-500 ms and kept or rolled back, stored (HTTP-style) reservations,
 * deletions ({@code cleanUsed}), after-the-fact rollbacks, forced refreshes, interrupted reservations, and read and
 * write lock holds of 50-500 ms; while a fault thread kills the leader, stops and restarts members (m0 included),
 * freezes members longer than a lease, loses replies, holds transactions, breaks watch streams, and makes the source
 * of truth slow (longer than the lock lease) or failing.
 *
 * <p>The source of truth ({@link SwitchableHandler}) answers from a ledger the run keeps: what reservations that
 * returned put there, minus what was rolled back or deleted. Each thread draws from its own {@link Random} seeded
 * from the run's seed, so a seed replays the same operations and faults (their interleaving still depends on
 * timing).
 */
final class RandomizedRun implements AutoCloseable {
    static final List<String> ACCOUNTS = List.of("red", "blue");
    static final List<String> RESOURCES = List.of("CPU", "GPU");
    static final List<String> LOCK_KEYS = List.of("L0", "L1");
    static final long START_USED = 5;
    static final long QUOTA = 40;
    static final Duration LEASE = Duration.ofSeconds(3);
    static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(3);
    /** How often a call with an idempotency key is sent before its failure is recorded. */
    private static final int KEYED_ATTEMPTS = 6;
    static final Duration SLACK = TestTimeouts.scaled(Duration.ofSeconds(2));
    static final Duration LEASE_MARGIN = Duration.ofMillis(500);
    private static final int CLIENTS = 3;
    private static final int WORKERS = 6;

    private final EtcdCluster etcd;
    private final long seed;
    private final Consumer<String> log;
    private final String namespace;
    private final History history = new History();
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, AtomicLong> truth = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> committed = new ConcurrentHashMap<>();
    private final List<SwitchableHandler> handlers = new ArrayList<>();
    private final Map<String, Integer> faults = new TreeMap<>();
    private final ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();
    private final AtomicLong owners = new AtomicLong();
    private final Client rawClient;
    private volatile boolean running = true;
    private final Object progress = new Object();
    private long successes; // guarded by progress
    private volatile Duration slowestRecovery = Duration.ZERO;

    /** One client process: its jetcd client with its fault interceptor, a quota manager and a lock service. */
    private record Node(String name, FaultInterceptor faults, QuotaManager quota, RwLocks locks) {
    }

    RandomizedRun(EtcdCluster etcd, long seed, Consumer<String> log) {
        this.etcd = etcd;
        this.seed = seed;
        this.log = log;
        this.namespace = "/random-" + Long.toHexString(seed) + "-" + Long.toHexString(System.nanoTime());
        for (String account : ACCOUNTS) {
            for (String resource : RESOURCES) {
                truth.put(HistoryChecker.counter(account, resource), new AtomicLong(START_USED));
                committed.put(HistoryChecker.counter(account, resource), new AtomicLong());
            }
        }
        for (String resource : RESOURCES) {
            handlers.add(new SwitchableHandler(resource, account -> truth.computeIfAbsent(
                    HistoryChecker.counter(account, resource), k -> new AtomicLong(START_USED)).get(), account -> QUOTA,
                    (r, account, at, used) -> history.read("handler", Type.HANDLER_READ, account,
                            Map.of(r, used), at, at)));
        }
        for (int i = 0; i < CLIENTS; i++) {
            FaultInterceptor interceptor = new FaultInterceptor();
            Client client = i == 0 ? etcd.newClientOn(etcd.member(0), interceptor) : etcd.newClient(interceptor);
            QuotaManager.Builder builder = QuotaManager.builder(client).namespace(namespace).lockLeaseTime(LEASE)
                    .operationTimeout(OPERATION_TIMEOUT).healthCheckInterval(Duration.ofMillis(200))
                    .cacheTtl(Duration.ofHours(1));
            for (int r = 0; r < RESOURCES.size(); r++) {
                builder.resource(RESOURCES.get(r), handlers.get(r));
            }
            RwLocks locks = RwLocks.builder(client).namespace(namespace).operationTimeout(OPERATION_TIMEOUT).build();
            nodes.add(new Node("c" + i, interceptor, builder.build(), locks));
        }
        this.rawClient = etcd.newClient();
    }

    /** What a run found. */
    record Report(long seed, Map<String, Integer> faults, Map<String, Map<FaultInterceptor.Kind, Long>> injected,
                  Map<String, Long> operations, HistoryChecker.Result result, List<String> unexpected,
                  Duration slowestRecovery) {
        boolean ok() {
            return result.ok() && unexpected.isEmpty();
        }

        void print(Consumer<String> out) {
            out.accept("seed " + seed);
            out.accept("faults scheduled: " + faults);
            out.accept("client faults injected by interceptor: " + injected);
            out.accept("operations: " + operations);
            out.accept("slowest recovery after a fault: " + slowestRecovery.toMillis() + " ms (bound "
                    + Faults.RECOVERY_BOUND.toMillis() + " ms)");
            out.accept("invariant checks:");
            result.checks().forEach((name, verdict) -> out.accept("  " + verdict + " " + name));
            out.accept("  " + (unexpected.isEmpty() ? "PASS" : "FAIL (" + unexpected.size() + ")")
                    + " liveness, client-JVM pause and no unexpected exception");
            result.notes().forEach(n -> out.accept("  note: " + n));
            Map<String, Integer> shown = new TreeMap<>();
            for (HistoryChecker.Violation v : result.violations()) {
                int n = shown.merge(v.invariant(), 1, Integer::sum);
                if (n <= 3) {
                    out.accept("VIOLATION " + v);
                }
            }
            shown.forEach((invariant, n) -> {
                if (n > 3) {
                    out.accept("... and " + (n - 3) + " more " + invariant + " violations");
                }
            });
            unexpected.stream().limit(10).forEach(u -> out.accept("UNEXPECTED " + u));
            out.accept(ok() ? "all invariants hold (seed " + seed + ")"
                    : "INVARIANTS BROKEN " + result.invariantsBroken() + (unexpected.isEmpty() ? "" : " +unexpected")
                    + " (replay with -Dwoslo.seed=" + seed + ")");
        }
    }

    /** Runs the workload and the faults for {@code length}, then heals, waits out the leases, reads and checks. */
    Report run(Duration length) throws Exception {
        log.accept("randomized run: seed " + seed + " (replay with -Dwoslo.seed=" + seed + "), " + length
                + ", namespace " + namespace);
        for (String account : ACCOUNTS) {
            refresh(nodes.get(1), account); // the start: every counter loaded from the truth
        }
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < WORKERS; i++) {
            Random random = new Random(seed * 31 + i);
            threads.add(thread("worker-" + i, () -> {
                while (running) {
                    step(random);
                }
            }));
        }
        threads.add(thread("sampler", this::sample));
        Thread faulter = thread("faults", () -> faults(new Random(seed), length));
        threads.forEach(Thread::start);
        faulter.start();
        faulter.join(length.plus(TestTimeouts.step()).toMillis());
        running = false;
        heal();
        long deadline = System.nanoTime() + TestTimeouts.step().toNanos();
        for (Thread t : threads) {
            t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            if (t.isAlive()) {
                StringBuilder stack = new StringBuilder();
                for (StackTraceElement frame : t.getStackTrace()) {
                    if (frame.getClassName().startsWith("io.woslo") || stack.length() < 400) {
                        stack.append("\n        at ").append(frame);
                    }
                }
                unexpected.add(t.getName() + " did not finish its operation within " + TestTimeouts.step()
                        + " of the end; it waits in:" + stack);
            }
        }
        close();
        // Leases end by time: waiting one out is the behaviour under test, not a stand-in for an event.
        Thread.sleep(LEASE.plus(Faults.LEASE_EXPIRY_MARGIN).toMillis());
        finalRead();
        List<String> leftovers = new ArrayList<>();
        leftovers.addAll(keys("/locks/"));
        leftovers.addAll(keys("/reservations/"));
        HistoryChecker checker = new HistoryChecker(QUOTA, OPERATION_TIMEOUT, SLACK, LEASE_MARGIN);
        HistoryChecker.Result result = checker.check(history.ops(), leftovers);
        if (!result.ok() || !unexpected.isEmpty()) {
            java.nio.file.Path file = java.nio.file.Path.of("target", "woslo-history-seed-" + seed + ".txt");
            try {
                java.nio.file.Files.createDirectories(file.getParent());
                java.nio.file.Files.write(file, history.ops().stream().map(Op::toString).toList());
                log.accept("the whole history is in " + file.toAbsolutePath());
            } catch (java.io.IOException e) {
                log.accept("cannot write the history to " + file + ": " + e);
            }
        }
        Map<String, Map<FaultInterceptor.Kind, Long>> injected = new TreeMap<>();
        nodes.forEach(n -> injected.put(n.name(), n.faults().injected()));
        return new Report(seed, new TreeMap<>(faults), injected, history.summary(), result,
                List.copyOf(unexpected), slowestRecovery);
    }

    private Thread thread(String name, Runnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                unexpected.add(name + " died: " + e);
            }
        }, "random-" + name);
        t.setDaemon(true);
        return t;
    }

    // ------------------------------------------------------------------------------------------------ workload

    private void step(Random random) {
        Node node = nodes.get(random.nextInt(nodes.size()));
        String account = ACCOUNTS.get(random.nextInt(ACCOUNTS.size()));
        int dice = random.nextInt(100);
        if (dice < 30) {
            reserve(node, account, random);
        } else if (dice < 33) {
            interruptedReserve(node, account, random);
        } else if (dice < 41) {
            stored(node, account, random);
        } else if (dice < 51) {
            clean(node, account, random, false);
        } else if (dice < 55) {
            clean(node, account, random, true);
        } else if (dice < 59) {
            refresh(node, account);
        } else {
            lock(node, random);
        }
    }

    private Map<String, Long> amounts(Random random) {
        Map<String, Long> out = new LinkedHashMap<>();
        int which = random.nextInt(3);
        for (int i = 0; i < RESOURCES.size(); i++) {
            if (which == i || which == RESOURCES.size()) {
                out.put(RESOURCES.get(i), (long) random.nextInt(1, 4));
            }
        }
        return out;
    }

    private static Map<String, Long> negated(Map<String, Long> amounts) {
        Map<String, Long> out = new LinkedHashMap<>();
        amounts.forEach((r, a) -> out.put(r, -a));
        return out;
    }

    private void addTruth(String account, Map<String, Long> deltas) {
        deltas.forEach((r, d) -> truth.get(HistoryChecker.counter(account, r)).addAndGet(d));
    }

    private void reserve(Node node, String account, Random random) {
        Map<String, Long> amounts = amounts(random);
        long hold = random.nextLong(50, 501);
        boolean rollback = random.nextBoolean();
        Op op = history.invoke(node.name(), Type.RESERVE, account, amounts);
        Reservation reservation;
        try {
            reservation = node.quota().prepareOccupying(account, amounts);
        } catch (RuntimeException e) {
            failed(op, e);
            return;
        }
        history.end(op, Outcome.OK, "");
        progressed();
        addTruth(account, amounts); // the work the reservation guards is done: the system of record has it
        try {
            pace(hold);
            if (rollback) {
                Op back = history.invoke(node.name(), Type.RESERVATION_ROLLBACK, account, negated(amounts));
                try {
                    reservation.rollback();
                    history.end(back, Outcome.OK, "");
                } catch (RuntimeException e) {
                    failed(back, e);
                }
                addTruth(account, negated(amounts)); // the work failed: the system of record no longer has it
            } else {
                amounts.forEach((r, a) -> committed.get(HistoryChecker.counter(account, r)).addAndGet(a));
            }
        } finally {
            Op close = history.invoke(node.name(), Type.CLOSE, account, Map.of());
            try {
                reservation.close();
                history.end(close, Outcome.OK, "");
            } catch (RuntimeException e) {
                failed(close, e);
            }
        }
    }

    /** A reservation whose caller is interrupted after 0-30 ms: whatever of it lands must be given back. */
    private void interruptedReserve(Node node, String account, Random random) {
        Map<String, Long> amounts = amounts(random);
        long after = random.nextLong(0, 31);
        Op op = history.invoke(node.name(), Type.RESERVE, account, amounts);
        Reservation[] got = new Reservation[1];
        RuntimeException[] error = new RuntimeException[1];
        Thread caller = new Thread(() -> {
            try {
                got[0] = node.quota().prepareOccupying(account, amounts);
            } catch (RuntimeException e) {
                error[0] = e;
            }
        }, "random-interrupted-caller");
        caller.setDaemon(true);
        caller.start();
        pace(after);
        caller.interrupt();
        try {
            caller.join(OPERATION_TIMEOUT.plus(SLACK).plus(SLACK).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (caller.isAlive()) {
            return; // stays PENDING: the checker reports a call that never returned
        }
        if (got[0] != null) {
            history.end(op, Outcome.OK, "returned before the interrupt");
            addTruth(account, amounts);
            amounts.forEach((r, a) -> committed.get(HistoryChecker.counter(account, r)).addAndGet(a));
            got[0].close();
        } else if (error[0] instanceof QuotaExceededException) {
            failed(op, error[0]);
        } else {
            history.end(op, Outcome.INTERRUPTED, error[0].getClass().getSimpleName() + ": " + error[0].getMessage());
        }
    }

    /**
     * A stored (HTTP) reservation, ended by any process: kept, given back, or kept in part (a commit of what was
     * used), sometimes extended first. Half of them carry idempotency keys: a call that failed or whose outcome is
     * unknown is then sent again with the same key until it answers, and the history records ONE operation with the
     * final answer, so the checker sees whether a retried change was applied exactly once.
     */
    private void stored(Node node, String account, Random random) {
        Map<String, Long> amounts = amounts(random);
        long hold = random.nextLong(50, 301);
        int end = random.nextInt(3); // 0 keep all, 1 give all back, 2 keep a part
        boolean keyed = random.nextBoolean();
        Op op = history.invoke(node.name(), Type.STORED_PREPARE, account, amounts);
        StoredReservation stored;
        try {
            IdempotencyKey key = keyed ? new IdempotencyKey("create-" + owners.incrementAndGet(), "fp") : null;
            stored = keyed
                    ? retried(op, () -> node.quota().prepareStoredAsync(account, amounts, key))
                    : await(node.quota().prepareStoredAsync(account, amounts));
        } catch (RuntimeException e) {
            failed(op, e);
            return;
        }
        history.end(op, Outcome.OK, "id " + stored.id());
        addTruth(account, amounts);
        pace(hold);
        if (random.nextInt(4) == 0) {
            try { // not a counter change: not recorded, but it must not break what follows
                await(nodes.get(random.nextInt(nodes.size())).quota().extendStoredAsync(stored.id(),
                        Duration.ofSeconds(random.nextInt(5, 30))));
            } catch (RuntimeException e) {
                pace(50);
            }
        }
        Map<String, Long> keep = end == 0 ? amounts : end == 1 ? Map.of() : part(amounts, random);
        Map<String, Long> rest = new LinkedHashMap<>();
        amounts.forEach((r, a) -> {
            if (a - keep.getOrDefault(r, 0L) > 0) {
                rest.put(r, a - keep.getOrDefault(r, 0L));
            }
        });
        Node finisher = nodes.get(random.nextInt(nodes.size())); // any process may end it
        Op ended = history.invoke(finisher.name(), rest.isEmpty() ? Type.STORED_FINISH : Type.STORED_ROLLBACK,
                account, negated(rest));
        IdempotencyKey key = keyed ? new IdempotencyKey("end-" + owners.incrementAndGet(), "fp") : null;
        java.util.function.Supplier<java.util.concurrent.CompletableFuture<Boolean>> call = () -> end == 1
                ? finisher.quota().rollbackStoredAsync(stored.id(), key)
                : finisher.quota().finishStoredAsync(stored.id(), end == 0 ? null : keep, key);
        try {
            boolean known = keyed ? retried(ended, call) : await(call.get());
            history.end(ended, known ? Outcome.OK : Outcome.FAIL, known ? "" : "unknown or already ended");
        } catch (RuntimeException e) {
            failed(ended, e);
        }
        addTruth(account, negated(rest)); // what the work did not use is not in the system of record
        keep.forEach((r, a) -> committed.get(HistoryChecker.counter(account, r)).addAndGet(a));
    }

    /** Some of each amount (0 up to all of it). */
    private static Map<String, Long> part(Map<String, Long> amounts, Random random) {
        Map<String, Long> out = new LinkedHashMap<>();
        amounts.forEach((r, a) -> out.put(r, random.nextLong(0, a + 1)));
        return out;
    }

    /**
     * A call sent with an idempotency key, sent again with the same key while it fails as "not applied" or "outcome
     * unknown" (an outage), at most {@value #KEYED_ATTEMPTS} times: its answer is the change's one outcome.
     */
    private static <T> T retried(Op op, java.util.function.Supplier<java.util.concurrent.CompletableFuture<T>> call) {
        boolean mayHaveLanded = false;
        for (int attempt = 1; ; attempt++) {
            op.attempts = attempt;
            try {
                return await(call.get());
            } catch (QuotaUnavailableException | QuotaBusyException e) {
                mayHaveLanded |= e instanceof QuotaOutcomeUnknownException;
                if (attempt == KEYED_ATTEMPTS) {
                    throw mayHaveLanded && !(e instanceof QuotaOutcomeUnknownException)
                            ? new QuotaOutcomeUnknownException("an earlier attempt's outcome is unknown", e)
                            : e;
                }
                pace(HistoryChecker.RETRY_PAUSE.toMillis());
            }
        }
    }

    /** A deletion ({@code cleanUsed}) or a failure found after the fact ({@code rollback} with its error time). */
    private void clean(Node node, String account, Random random, boolean afterTheFact) {
        Map<String, Long> taken = new LinkedHashMap<>();
        for (String resource : RESOURCES) {
            AtomicLong units = committed.get(HistoryChecker.counter(account, resource));
            long want = random.nextInt(1, 4);
            long got = units.getAndUpdate(u -> u - Math.min(u, want));
            if (Math.min(got, want) > 0) {
                taken.put(resource, Math.min(got, want));
            }
        }
        if (taken.isEmpty()) {
            return;
        }
        Map<String, Long> deltas = negated(taken);
        Op op = history.invoke(node.name(), afterTheFact ? Type.ROLLBACK : Type.CLEAN, account, deltas);
        try {
            if (afterTheFact) {
                op.errorTime = System.nanoTime();
                node.quota().rollback(account, taken, Instant.now());
            } else {
                node.quota().cleanUsed(account, taken);
            }
            history.end(op, Outcome.OK, "");
        } catch (RuntimeException e) {
            failed(op, e);
        }
        addTruth(account, deltas); // deleted (or failed) in the system of record, whatever the counter says
    }

    private void refresh(Node node, String account) {
        Op op = history.invoke(node.name(), Type.REFRESH, account, Map.of());
        try {
            RefreshResult result = node.quota().refresh(account, true);
            history.refreshed(op, new java.util.HashSet<>(result.refreshed()),
                    result.errors().isEmpty() ? "" : "errors " + result.errors().keySet());
        } catch (RuntimeException e) {
            failed(op, e);
        }
    }

    private void lock(Node node, Random random) {
        String key = LOCK_KEYS.get(random.nextInt(LOCK_KEYS.size()));
        boolean write = random.nextInt(100) < 40;
        long hold = random.nextLong(50, 501);
        long owner = owners.incrementAndGet();
        DistributedLock lock = write ? node.locks().writeLock(key, owner, LEASE) : node.locks().readLock(key, owner,
                LEASE);
        Op op = history.invoke(node.name(), Type.LOCK, key, Map.of());
        op.leaseNanos = LEASE.toNanos(); // lock() may wait this long for holders: part of its bound
        try {
            lock.lock();
        } catch (LockTimeoutException e) {
            history.end(op, Outcome.FAIL, "LockTimeoutException");
            return;
        } catch (RuntimeException e) {
            history.end(op, Outcome.UNKNOWN, e.getClass().getSimpleName() + ": " + e.getMessage());
            pace(100);
            return;
        }
        history.granted(op, write, lock.fencingToken(), LEASE.toNanos());
        progressed();
        pace(hold);
        history.releasing(op);
        try {
            lock.unlock();
        } catch (RuntimeException e) {
            op.detail = "unlock failed: " + e.getClass().getSimpleName(); // the key ends with its lease
        }
    }

    /** Records how a quota call failed: refused and unavailable are "fail", outcome unknown is "unknown". */
    private void failed(Op op, RuntimeException e) {
        String detail = e.getClass().getSimpleName() + ": " + e.getMessage();
        if (e instanceof QuotaExceededException x) {
            history.exceeded(op, x.resource(), x.used(), x.requested(), x.quota());
        } else if (e instanceof QuotaOutcomeUnknownException) {
            history.end(op, Outcome.UNKNOWN, detail);
        } else if (e instanceof QuotaBusyException || e instanceof QuotaUnavailableException
                || e instanceof QuotaAbnormalException) {
            history.end(op, Outcome.FAIL, detail);
            pace(100); // do not spin on fast failures during an outage
        } else {
            history.end(op, Outcome.UNKNOWN, "unexpected " + detail);
            unexpected.add(op + ": " + e);
        }
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> future) {
        try {
            return future.get(OPERATION_TIMEOUT.plus(SLACK).plus(SLACK).toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("no answer within " + OPERATION_TIMEOUT.plus(SLACK).plus(SLACK), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void pace(long millis) {
        try {
            Thread.sleep(millis); // simulated work inside a hold, or pacing of the workload
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------------------------------------- reads

    private Map<String, Long> counters(String account) throws Exception {
        String prefix = namespace + "/quota/" + account + "/";
        List<KeyValue> kvs = rawClient.getKVClient()
                .get(ByteSequence.from(prefix, UTF_8), GetOption.builder().isPrefix(true).build())
                .get(2, TimeUnit.SECONDS).getKvs();
        Map<String, Long> out = new TreeMap<>();
        for (KeyValue kv : kvs) {
            String resource = kv.getKey().toString(UTF_8).substring(prefix.length());
            out.put(resource, Json.used(kv.getValue().toString(UTF_8)));
        }
        return out;
    }

    /** Reads each account's counters (one linearizable read per account) every 25 ms. */
    private void sample() {
        while (running) {
            for (String account : ACCOUNTS) {
                long at = System.nanoTime();
                try {
                    Map<String, Long> values = counters(account);
                    history.read("sampler", Type.SAMPLE, account, values, at, System.nanoTime());
                } catch (Exception unreachable) {
                    // etcd is down for a fault; the next sample reads again
                }
            }
            pace(25);
        }
    }

    private void finalRead() throws Exception {
        for (String account : ACCOUNTS) {
            long at = System.nanoTime();
            Map<String, Long> values = Faults.eventually("final read", Faults.RECOVERY_BOUND, () -> {
                try {
                    return counters(account);
                } catch (Exception e) {
                    throw new QuotaUnavailableException("final read: " + e, e);
                }
            }).value();
            history.read("checker", Type.FINAL, account, values, at, System.nanoTime());
        }
    }

    private List<String> keys(String suffix) throws Exception {
        return rawClient.getKVClient().get(ByteSequence.from(namespace + suffix, UTF_8),
                        GetOption.builder().isPrefix(true).withKeysOnly(true).build())
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getKvs().stream()
                .map(kv -> kv.getKey().toString(UTF_8)).toList();
    }

    // ------------------------------------------------------------------------------------------------- faults

    private void faults(Random random, Duration length) {
        long end = System.nanoTime() + length.toNanos();
        pace(random.nextLong(1_000, 2_000));
        while (System.nanoTime() < end) {
            int dice = random.nextInt(11);
            Node node = nodes.get(random.nextInt(nodes.size()));
            try {
                switch (dice) {
                    case 0 -> {
                        count("leader kill");
                        var leader = Faults.killLeader(etcd, line -> log.accept("  fault: " + line));
                        pace(random.nextLong(1_000, 3_000));
                        leader.restart();
                    }
                    case 1 -> {
                        var member = etcd.member(random.nextInt(3));
                        count(member == etcd.member(0) ? "stop of c0's watch member m0" : "member stop/restart");
                        log.accept("  fault: stop " + member.name());
                        member.stop();
                        pace(random.nextLong(1_000, 3_000));
                        member.restart();
                    }
                    case 2 -> {
                        var member = etcd.member(random.nextInt(3));
                        count("member SIGSTOP past a lease");
                        log.accept("  fault: SIGSTOP " + member.name() + " for " + LEASE.plusSeconds(1));
                        member.pause();
                        try {
                            pace(LEASE.plusSeconds(1).toMillis());
                        } finally {
                            member.resume();
                        }
                    }
                    case 3 -> {
                        count("lost reply (Txn)");
                        log.accept("  fault: lose the reply of " + node.name() + "'s next Txn");
                        node.faults().loseReply(FaultInterceptor.KV_TXN, 1);
                    }
                    case 4 -> {
                        count("held Txn");
                        long held = random.nextLong(1_000, 4_000);
                        log.accept("  fault: hold " + node.name() + "'s next 2 Txns for " + held + " ms");
                        FaultInterceptor.Fault fault = node.faults().hold(FaultInterceptor.KV_TXN, 2);
                        pace(held);
                        fault.release();
                    }
                    case 5 -> {
                        count("broken watch streams");
                        FaultInterceptor.Fault fault = node.faults().breakWatch(3);
                        log.accept("  fault: break " + node.name() + "'s watch streams (" + fault.injected()
                                + " open now broken)");
                    }
                    case 6 -> {
                        count("delayed replies");
                        log.accept("  fault: delay " + node.name() + "'s next 5 Txn replies by 1 s");
                        node.faults().delayReply(FaultInterceptor.KV_TXN, Duration.ofSeconds(1), 5);
                    }
                    case 7 -> {
                        count("slow source of truth");
                        Duration slowness = LEASE.plusSeconds(1);
                        log.accept("  fault: handlers answer " + slowness + " late (longer than the lock lease)");
                        handlers.forEach(h -> h.slow(slowness, false));
                        pace(random.nextLong(3_000, 6_000));
                        handlers.forEach(SwitchableHandler::normal);
                    }
                    case 8 -> {
                        count("failing source of truth");
                        log.accept("  fault: handlers throw");
                        handlers.forEach(SwitchableHandler::failing);
                        pace(random.nextLong(1_000, 3_000));
                        handlers.forEach(SwitchableHandler::normal);
                    }
                    case 10 -> {
                        count("client JVM SIGSTOP past its lease");
                        frozenClient(random);
                    }
                    default -> {
                        count("restart of c0's watch member m0");
                        log.accept("  fault: restart m0 (c0's streams live there)");
                        etcd.member(0).kill();
                        pace(random.nextLong(500, 1_500));
                        etcd.member(0).restart();
                    }
                }
            } catch (RuntimeException e) {
                unexpected.add("fault " + dice + " failed: " + e);
                heal();
            }
            awaitRecovery(dice);
            pace(random.nextLong(1_500, 4_000)); // quiet time between faults
        }
    }

    /**
     * A client JVM holding a reservation is frozen (SIGSTOP) longer than its lease, as by a GC pause: its read lock
     * must end with the lease, so a refresh (write lock) succeeds meanwhile and restores the truth; then it is
     * thawed and killed. Uses an account of its own, outside the history.
     */
    private void frozenClient(Random random) {
        String account = "jvm-" + random.nextInt(1_000_000);
        Node node = nodes.get(1);
        try (ChildJvm child = ChildJvm.start(QuotaHolderProcess.class, etcd.endpointList(), namespace, account,
                "reserve", "3", Long.toString(LEASE.toMillis()))) {
            Faults.eventually("a first refresh of " + account, Faults.RECOVERY_BOUND,
                    () -> node.quota().refresh(account, true));
            child.awaitLine(QuotaHolderProcess.RESERVED);
            child.pause();
            log.accept("  fault: SIGSTOP client JVM " + child.pid() + " holding a reservation of " + account);
            try {
                Faults.Timed<RefreshResult> refreshed = Faults.eventually("a refresh while the holder is frozen",
                        LEASE.plus(Faults.LEASE_EXPIRY_MARGIN).plus(OPERATION_TIMEOUT),
                        () -> node.quota().refresh(account, true));
                Map<String, Long> after = counters(account);
                long truthCpu = truth.get(HistoryChecker.counter(account, "CPU")).get();
                if (!refreshed.value().refreshed().contains("CPU") || after.get("CPU") != truthCpu) {
                    unexpected.add("client JVM pause: after the frozen holder's lease a refresh should restore CPU"
                            + " = " + truthCpu + ", got " + after + " (" + refreshed.value() + ")");
                }
            } finally {
                child.resume();
                child.kill();
            }
        } catch (AssertionError e) {
            unexpected.add("client JVM pause: " + e.getMessage());
        } catch (Exception e) {
            unexpected.add("client JVM pause could not run: " + e);
        }
    }

    private void progressed() {
        synchronized (progress) {
            successes++;
            progress.notifyAll();
        }
    }

    /** Liveness: once a fault has ended, reservations and locks succeed again within the recovery bound. */
    private void awaitRecovery(int fault) {
        long started = System.nanoTime();
        long deadline = started + Faults.RECOVERY_BOUND.toNanos();
        synchronized (progress) {
            long target = successes + 5;
            while (successes < target && running) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    unexpected.add("liveness: fewer than 5 successful reservations or lock holds within "
                            + Faults.RECOVERY_BOUND + " after fault " + fault + " ended");
                    return;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(progress, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        if (took.compareTo(slowestRecovery) > 0) {
            slowestRecovery = took;
        }
    }

    private void count(String fault) {
        faults.merge(fault, 1, Integer::sum);
    }

    /** Ends every fault: members thawed and running, handlers normal, interceptors disarmed. */
    private void heal() {
        handlers.forEach(SwitchableHandler::normal);
        nodes.forEach(n -> n.faults().reset());
        etcd.members().forEach(m -> m.resume());
        Faults.restartStopped(etcd);
    }

    private boolean closed;

    @Override
    public synchronized void close() {
        running = false;
        if (closed) {
            return;
        }
        closed = true;
        for (Node node : nodes) {
            node.quota().close();
            node.locks().close();
        }
    }

    /** The {@code used} figure of a counter's JSON value. */
    private static final class Json {
        private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER =
                new com.fasterxml.jackson.databind.ObjectMapper();

        static long used(String json) throws Exception {
            return MAPPER.readTree(json).path("used").asLong();
        }
    }
}
