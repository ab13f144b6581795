package io.woslo.lock;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LockEngine;
import io.woslo.internal.LockEntryValue;
import io.woslo.internal.LockPolicy;
import io.woslo.internal.QueueEntry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Distributed read-write locks on etcd. Build one per etcd client and namespace and share it; it is thread-safe.
 *
 * <pre>{@code
 * try (RwLocks locks = RwLocks.builder(client).build()) {
 *     DistributedLock read = locks.readLock("catalog", 7, Duration.ofMinutes(1));
 *     read.lock();
 *     try { ... } finally { read.unlock(); }
 * }
 * }</pre>
 *
 * Each acquisition is a key under {@code <namespace>/locks/<escaped key>/} on a lease of its own; see
 * {@link DistributedLock} for the guarantees. {@code etcdctl get --prefix /woslo/locks/} shows who holds and who
 * waits. Closing an {@code RwLocks} stops its timer; it does not close the etcd client, nor release held locks
 * (they end with their leases).
 */
public final class RwLocks implements AutoCloseable {
    /** Default bound on each etcd call. */
    public static final Duration DEFAULT_OPERATION_TIMEOUT = Duration.ofSeconds(10);

    /**
     * Lock keys starting with this are the quota manager's account locks ({@code "quota/" + account}, stored under
     * {@code <ns>/locks/quota%2F<account>/}): users may {@link #inspect} them but not take them.
     */
    static final String RESERVED_PREFIX = KeyLayout.ACCOUNT_LOCK_PREFIX;

    private final LockEngine engine;
    private final LockQueues queues;
    private final boolean keepAlive;
    private final LocalHolds holds;
    /** Where the futures handed to callers complete, so their continuations may block (even on another lock). */
    private final java.util.concurrent.ExecutorService callbackPool;
    private final java.util.concurrent.Executor callbacks;

    private RwLocks(Builder builder) {
        this.engine = new LockEngine(builder.client, new KeyLayout(builder.namespace), builder.operationTimeout,
                builder.metrics);
        this.queues = new LockQueues(builder.client, engine.layout(), builder.operationTimeout);
        this.keepAlive = builder.keepAlive;
        this.holds = new LocalHolds(engine);
        this.callbackPool = java.util.concurrent.Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "woslo-lock-callback");
            t.setDaemon(true);
            return t;
        });
        this.callbacks = task -> {
            try {
                callbackPool.execute(task);
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                task.run(); // after close(): complete the caller's future here rather than never
            }
        };
    }

    /** A builder for locks on {@code client}. */
    public static Builder builder(Client client) {
        return new Builder(client);
    }

    /**
     * A handle on the read lock of {@code key} for {@code ownerId}, held for at most {@code leaseTime}.
     *
     * @throws IllegalArgumentException for an invalid key or lease time, and for a key starting with
     *         {@code quota/}, the names of the quota manager's account locks
     */
    public DistributedLock readLock(String key, long ownerId, Duration leaseTime) {
        return newHandle(key, ownerId, leaseTime, LockPolicy.READ);
    }

    /**
     * A handle on the write lock of {@code key} for {@code ownerId}, held for at most {@code leaseTime}.
     *
     * @throws IllegalArgumentException for an invalid key or lease time, and for a key starting with
     *         {@code quota/}, the names of the quota manager's account locks
     */
    public DistributedLock writeLock(String key, long ownerId, Duration leaseTime) {
        return newHandle(key, ownerId, leaseTime, LockPolicy.WRITE);
    }

    /** Who holds {@code key} now, read from etcd. Account locks ({@code quota/<account>}) may be inspected too. */
    public LockInfo inspect(String key) {
        return join(inspectAsync(key));
    }

    /** {@link #inspect(String)} without blocking. */
    public CompletableFuture<LockInfo> inspectAsync(String key) {
        KeyLayout.requireName("lock key", key);
        return mapFailures(engine.readQueue(key).thenApply(queue -> toInfo(key, queue)));
    }

    /**
     * The queue of {@code key} as one read of etcd sees it: its mode, its holders and its waiters in queue order,
     * each with its entry name, owner id, create revision, lease and lease time left. Account locks
     * ({@code quota/<account>}) may be described too. A lock nobody holds is described with mode
     * {@link LockMode#NONE}, not refused.
     *
     * @throws IllegalArgumentException for an invalid key
     * @throws LockUnavailableException when etcd does not answer within the operation timeout
     */
    public LockDescription describe(String key) {
        return join(describeAsync(key));
    }

    /** {@link #describe(String)} without blocking. */
    public CompletableFuture<LockDescription> describeAsync(String key) {
        KeyLayout.requireName("lock key", key);
        return mapFailures(queues.describe(key));
    }

    /**
     * An operator's tool, and a dangerous one: deletes exactly the entry {@code entry} (a name from
     * {@link #describe(String)}) of {@code key}'s queue, whoever made it, account locks included. The entries
     * behind it proceed as if it had been released. Its holder is not told at once: its {@link DistributedLock#lost()}
     * completes when its watch sees the delete, and its writes are refused only where they are fenced by the
     * entry's existence (the quota counters are); anything else it protects with the lock is no longer protected.
     *
     * @return true when the entry was there and is now deleted, false when there was no such entry (nothing changed)
     * @throws IllegalArgumentException for an invalid key or an empty entry name or one containing {@code /}
     *         (nothing changed)
     */
    public boolean forceRelease(String key, String entry) {
        return join(forceReleaseAsync(key, entry));
    }

    /** {@link #forceRelease(String, String)} without blocking. */
    public CompletableFuture<Boolean> forceReleaseAsync(String key, String entry) {
        KeyLayout.requireName("lock key", key);
        KeyLayout.requireEntryName(entry);
        return mapFailures(queues.forceRelease(key, entry));
    }

    /** The namespace the locks live under. */
    public String namespace() {
        return engine.layout().namespace();
    }

    @Override
    public void close() {
        engine.close();
        callbackPool.shutdown();
    }

    private DistributedLock newHandle(String key, long ownerId, Duration leaseTime, LockPolicy policy) {
        KeyLayout.requireName("lock key", key);
        if (key.startsWith(RESERVED_PREFIX)) {
            throw new IllegalArgumentException("lock key '" + key + "' is refused: the prefix '" + RESERVED_PREFIX
                    + "' is reserved for the account locks of the quota manager (a lock named 'quota/<account>' is"
                    + " that account's quota lock); inspect() may still read it");
        }
        if (leaseTime == null) {
            throw new IllegalArgumentException("leaseTime must not be null");
        }
        if (leaseTime.isNegative() || leaseTime.isZero()) {
            throw new IllegalArgumentException("leaseTime must be positive, got " + leaseTime);
        }
        return new LockHandle(holds, callbacks, key, ownerId, leaseTime, policy, keepAlive);
    }

    private static LockInfo toInfo(String key, List<Map.Entry<QueueEntry, ByteSequence>> queue) {
        if (queue.isEmpty()) {
            return new LockInfo(key, LockMode.NONE, List.of(), 0);
        }
        int held = LockPolicy.holders(queue.stream().map(Map.Entry::getKey).toList());
        List<Long> holders = queue.subList(0, held).stream()
                .map(entry -> LockEntryValue.ownerOf(entry.getValue())).toList();
        return new LockInfo(key, queue.get(0).getKey().write() ? LockMode.WRITE : LockMode.READ, holders,
                queue.size() - held);
    }

    static <T> CompletableFuture<T> mapFailures(CompletableFuture<T> future) {
        return future.exceptionallyCompose(error -> CompletableFuture.failedFuture(toLockException(error)));
    }

    static Throwable toLockException(Throwable error) {
        Throwable cause = io.woslo.internal.Futures.unwrap(error);
        if (cause instanceof EtcdUnavailableException) {
            return new LockUnavailableException(cause.getMessage(), cause);
        }
        return cause;
    }

    static <T> T join(CompletableFuture<T> future) {
        return io.woslo.internal.Futures.join(future,
                cause -> cause instanceof InterruptedException
                        ? new LockException("interrupted while waiting for etcd", cause)
                        : new CompletionException(cause));
    }

    /** Settings of an {@link RwLocks}; each is checked when set. */
    public static final class Builder {
        private final Client client;
        private String namespace = KeyLayout.DEFAULT_NAMESPACE;
        private boolean keepAlive;
        private Duration operationTimeout = DEFAULT_OPERATION_TIMEOUT;
        private io.woslo.internal.LockMetrics metrics = io.woslo.internal.LockMetrics.NONE;

        private Builder(Client client) {
            if (client == null) {
                throw new IllegalArgumentException("client must not be null");
            }
            this.client = client;
        }

        /** The key prefix, default {@code /woslo}; locks live under {@code <namespace>/locks/}. */
        public Builder namespace(String namespace) {
            this.namespace = KeyLayout.validateNamespace(namespace);
            return this;
        }

        /**
         * Opt-in: renew each held lock's lease for as long as this JVM holds it, for work longer than any fixed
         * lease. A holder that dies still loses the lock one lease time after its last renewal. Default off: the
         * lease is never renewed, so every lock ends at most one lease time after it was granted.
         */
        public Builder keepAlive(boolean keepAlive) {
            this.keepAlive = keepAlive;
            return this;
        }

        /** The bound on each etcd call before it counts as unavailable, default 10 seconds. */
        public Builder operationTimeout(Duration timeout) {
            if (timeout == null) {
                throw new IllegalArgumentException("operationTimeout must not be null");
            }
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("operationTimeout must be positive, got " + timeout);
            }
            this.operationTimeout = timeout;
            return this;
        }

        /**
         * Records lock metrics in a Micrometer registry (Micrometer must then be on the classpath; it is an
         * optional dependency): {@code woslo.lock.acquisitions{mode}} (locks granted),
         * {@code woslo.lock.waits{mode,outcome}} (a timer of the attempts that found the lock held and waited;
         * outcome {@code granted}, {@code timeout} or {@code failed}) and {@code woslo.lock.losses{mode}} (holds
         * found lost before their release); {@code mode} is {@code read} or {@code write}.
         */
        public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
            if (registry == null) {
                throw new IllegalArgumentException("meterRegistry must not be null");
            }
            this.metrics = new io.woslo.internal.MicrometerLockMetrics(registry);
            return this;
        }

        public RwLocks build() {
            return new RwLocks(this);
        }
    }
}
