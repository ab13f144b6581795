package io.woslo.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.woslo.lock.DistributedLock;
import io.woslo.lock.LockUnavailableException;
import io.woslo.lock.RwLocks;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.QuotaUnavailableException;
import io.woslo.quota.Reservation;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.EtcdMember;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Members stopped and started again: one member (the cluster keeps its quorum and serves on), every member (etcd is
 * unreachable: calls fail fast and recover), and a full stop and start (what etcd stored survives, locks whose
 * leases ran out are free).
 */
@WithEtcd(members = 3)
class ClusterOutageIT extends FaultItSupport {
    private static final Duration BUDGET = TestTimeouts.step().multipliedBy(2);
    /** A call while etcd is unreachable fails within the operation timeout plus this. */
    private static final Duration FAIL_FAST_SLACK = TestTimeouts.scaled(Duration.ofSeconds(2));
    private static final Map<String, Long> ONE_CPU = Map.of("CPU", 1L);

    @Test
    void reservationsAndLocksGoOnWhileOneMemberIsStoppedAndAfterItRestarts(EtcdCluster etcd) throws Exception {
        this.etcd = etcd;
        try (QuotaStorm storm = QuotaStorm.start(etcd, namespace, 3, 4, 1_000, BUDGET);
             LockContention contention = LockContention.start(etcd, namespace, 3, 4, 1_000, BUDGET)) {
            storm.awaitMoreSuccesses(30, TestTimeouts.step());
            contention.awaitMoreSuccesses(30, TestTimeouts.step());

            EtcdMember stopped = etcd.member(1);
            stopped.stop();
            Faults.log("stopped member " + stopped.name());
            Faults.log("with a member down: reservations go on after "
                    + storm.awaitMoreSuccesses(20, Faults.RECOVERY_BOUND).toMillis() + " ms, locks after "
                    + contention.awaitMoreSuccesses(20, Faults.RECOVERY_BOUND).toMillis() + " ms");
            stopped.restart();
            Faults.log("restarted member " + stopped.name());
            storm.awaitMoreSuccesses(20, Faults.RECOVERY_BOUND);
            contention.awaitMoreSuccesses(20, Faults.RECOVERY_BOUND);

            storm.stopAndVerify(Faults::log);
            contention.stopAndVerify(Faults::log);
        }
    }

    @Test
    void callsFailFastWhileEtcdIsUnreachableAndSucceedAgainOnTheSameClients(EtcdCluster etcd) throws Exception {
        this.etcd = etcd;
        try (QuotaStorm storm = QuotaStorm.start(etcd, namespace, 3, 4, 1_000, BUDGET);
             RwLocks locks = RwLocks.builder(etcd.newClient()).namespace(namespace)
                     .operationTimeout(QuotaStorm.OPERATION_TIMEOUT).build();
             QuotaManager quota = QuotaStorm.manager(etcd.newClient(), namespace, QuotaStorm.LOCK_LEASE)) {
            storm.awaitMoreSuccesses(30, TestTimeouts.step());
            DistributedLock lock = locks.writeLock("outage", 1, Duration.ofSeconds(30));
            String account = QuotaStorm.ACCOUNTS.get(0);

            Faults.stopAll(etcd);
            Faults.log("stopped every member");
            assertAllFailFast(Map.of(
                    "prepareOccupying", () -> quota.prepareOccupying(account, ONE_CPU),
                    "cleanUsed", () -> quota.cleanUsed(account, ONE_CPU),
                    "rollback", () -> quota.rollback(account, ONE_CPU, Instant.now()),
                    "refresh", () -> quota.refresh(account, true)), QuotaUnavailableException.class);
            assertAllFailFast(Map.of(
                    "lock", lock::lock,
                    "tryLock", () -> lock.tryLock(Duration.ZERO),
                    "inspect", () -> locks.inspect("outage")), LockUnavailableException.class);
            assertThat(storm.outcome("reserveUnknown", 0) + storm.outcome("cleanUnknown", 0))
                    .as("the storm's calls failed as unavailable too").isPositive();

            Faults.restartStopped(etcd);
            Faults.log("started every member again");
            Faults.Timed<Reservation> reserved = Faults.eventually("a reservation after the outage",
                    Faults.RECOVERY_BOUND, () -> quota.prepareOccupying(account, ONE_CPU));
            reserved.value().rollback();
            reserved.value().close();
            Faults.Timed<Void> locked = Faults.eventually("a lock after the outage", Faults.RECOVERY_BOUND, () -> {
                lock.lock();
                return null;
            });
            lock.unlock();
            Faults.log("after the outage: a reservation in " + reserved.took().toMillis() + " ms, a lock in "
                    + locked.took().toMillis() + " ms, the storm in "
                    + storm.awaitMoreSuccesses(20, Faults.RECOVERY_BOUND).toMillis() + " ms");

            storm.stopAndVerify(Faults::log);
        }
    }

    @Test
    void aFullStopAndStartKeepsCountersAndAccountIndexAndFreesLocksWhoseLeasesRanOut(EtcdCluster etcd)
            throws Exception {
        this.etcd = etcd;
        Duration lease = Duration.ofSeconds(2);
        RawEtcd raw = new RawEtcd(etcd.newClient(), namespace);
        try (QuotaManager quota = QuotaStorm.manager(etcd.newClient(), namespace, lease);
             RwLocks locks = RwLocks.builder(etcd.newClient()).namespace(namespace)
                     .operationTimeout(QuotaStorm.OPERATION_TIMEOUT).build()) {
            quota.prepareOccupying("kept", Map.of("CPU", 3L, "GPU", 2L)).close();
            Reservation open = quota.prepareOccupying("open", Map.of("CPU", 4L)); // never closed: its holder "dies"
            DistributedLock orphan = locks.writeLock("orphan", 1, lease);
            orphan.lock(); // never unlocked
            long orphanToken = orphan.fencingToken();
            Map<String, String> countersBefore = raw.under("/quota/");
            Map<String, String> indexBefore = raw.under("/accounts/");

            Faults.stopAll(etcd);
            Faults.restartStopped(etcd);
            Faults.log("stopped and started every member");

            Map<String, String> countersAfter = Faults.eventually("a read after the restart", Faults.RECOVERY_BOUND,
                    () -> raw.under("/quota/")).value();
            // kept/CPU, kept/GPU, open/CPU: a counter is created when its resource is first reserved
            assertThat(countersAfter).as("counters survive").isEqualTo(countersBefore).hasSize(3);
            assertThat(raw.under("/accounts/")).as("the account index survives").isEqualTo(indexBefore)
                    .hasSize(2);
            assertThat(raw.used("kept", "CPU")).isEqualTo(QuotaStorm.START_USED + 3);
            assertThat(raw.used("open", "CPU")).isEqualTo(QuotaStorm.START_USED + 4);
            assertThat(Faults.eventually("the account index", Faults.RECOVERY_BOUND,
                    () -> quota.recentAccounts(Duration.ofHours(1))).value()).containsExactly("kept", "open");

            DistributedLock next = locks.writeLock("orphan", 2, Duration.ofSeconds(30));
            Faults.Timed<Boolean> taken = Faults.eventually("the orphaned lock", Faults.RECOVERY_BOUND,
                    () -> next.tryLock(lease.plus(Faults.LEASE_EXPIRY_MARGIN)));
            assertThat(taken.value()).as("the orphaned write lock is free once its lease ran out").isTrue();
            assertThat(next.fencingToken()).isGreaterThan(orphanToken);
            next.unlock();
            Faults.Timed<?> refreshed = Faults.eventually("a refresh of the account whose reservation was left open",
                    lease.plus(Faults.LEASE_EXPIRY_MARGIN).plus(Faults.RECOVERY_BOUND),
                    () -> quota.refresh("open", true));
            assertThat(raw.used("open", "CPU")).as("the refresh brings the counter to the truth")
                    .isEqualTo(QuotaStorm.START_USED);
            Faults.log("after the restart: orphaned lock taken in " + taken.took().toMillis()
                    + " ms, the open reservation's account refreshed in " + refreshed.took().toMillis() + " ms");
            open.close();
            Faults.awaitNoAccountLocks(raw, lease);
        }
    }

    /**
     * Each call throws {@code expected} within the operation timeout plus slack, and none hangs. The calls run at
     * once, each on its own thread, so the outage lasts one bound, not one per call.
     */
    private static void assertAllFailFast(Map<String, Executable> calls, Class<? extends Throwable> expected)
            throws Exception {
        Duration bound = QuotaStorm.OPERATION_TIMEOUT.plus(FAIL_FAST_SLACK);
        ExecutorService pool = Executors.newFixedThreadPool(calls.size());
        try {
            Map<String, Future<Duration>> running = new TreeMap<>();
            calls.forEach((name, call) -> running.put(name, pool.submit(() -> {
                long started = System.nanoTime();
                assertThatThrownBy(call::execute).as(name).isInstanceOf(expected);
                return Duration.ofNanos(System.nanoTime() - started);
            })));
            for (Map.Entry<String, Future<Duration>> call : running.entrySet()) {
                Duration took = assertTimeoutPreemptively(bound, () -> call.getValue().get(),
                        () -> call.getKey() + " with etcd unreachable did not fail within " + bound);
                assertThat(took).as("%s failed after", call.getKey()).isLessThan(bound);
                Faults.log(call.getKey() + " failed as " + expected.getSimpleName() + " after " + took.toMillis()
                        + " ms");
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
