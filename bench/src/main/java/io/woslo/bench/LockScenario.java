package io.woslo.bench;

import io.woslo.lock.DistributedLock;
import io.woslo.lock.RwLocks;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Acquire + release of one lock key through {@link RwLocks}' async API; every operation is a new handle with an
 * owner id of its own, so no two operations share a (re-entrant) hold.
 */
final class LockScenario {
    private static final String KEY = "bench";
    private static final Duration LEASE_TIME = Duration.ofSeconds(30);

    private LockScenario() {
    }

    static Scenario of(BenchEtcd etcd, String name, String description, boolean write) {
        return new Scenario(name, description, false, inFlight -> {
            String namespace = etcd.freshPrefix(name + "-" + inFlight);
            RwLocks locks = RwLocks.builder(etcd.shared()).namespace(namespace).build();
            AtomicLong owners = new AtomicLong();
            Operation op = seq -> {
                long owner = owners.incrementAndGet();
                DistributedLock lock = write
                        ? locks.writeLock(KEY, owner, LEASE_TIME)
                        : locks.readLock(KEY, owner, LEASE_TIME);
                return lock.lockAsync().thenCompose(v -> lock.unlockAsync()).thenApply(v -> 0);
            };
            return Workload.of(op, () -> etcd.deletePrefix(namespace), locks);
        });
    }
}
