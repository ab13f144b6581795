package io.woslo.fault;

import io.woslo.quota.MutableHandler;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.RawEtcd;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.EtcdMember;
import io.woslo.testing.TestTimeouts;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The fault soak behind {@code scripts/soak.sh [minutes]}: on a three-member etcd cluster, a reservation storm and
 * lock contention run for the given time while random faults hit: kill -9 of the leader, a member stopped and
 * restarted, a client JVM killed while it holds a reservation. After each fault, both workloads must succeed again
 * within {@link Faults#RECOVERY_BOUND}. At the end it prints the invariant checks and exits non-zero if one fails.
 */
public final class Soak {
    private static final Duration CRASH_LEASE = Duration.ofSeconds(3);

    private final EtcdCluster etcd;
    private final String namespace = "/soak-" + UUID.randomUUID();
    private final Map<String, Integer> faults = new TreeMap<>();
    private Duration slowestRecovery = Duration.ZERO;
    private int crashes;

    private Soak(EtcdCluster etcd) {
        this.etcd = etcd;
    }

    public static void main(String[] args) {
        Duration length = Duration.ofSeconds((long) (60 * (args.length > 0 ? Double.parseDouble(args[0]) : 5)));
        print("soak for " + length + " on a three-member etcd cluster");
        int status;
        try (EtcdCluster etcd = EtcdCluster.start(3, "soak")) {
            status = new Soak(etcd).run(length);
        } catch (Throwable e) {
            print("FAILED to run: " + e);
            e.printStackTrace(System.out);
            status = 2;
        }
        System.exit(status);
    }

    private int run(Duration length) throws Exception {
        Duration budget = length.plus(TestTimeouts.step().multipliedBy(3));
        try (QuotaStorm storm = QuotaStorm.start(etcd, namespace, 3, 4, Long.MAX_VALUE, budget);
             LockContention locks = LockContention.start(etcd, namespace, 3, 4, Long.MAX_VALUE, budget)) {
            long end = System.nanoTime() + length.toNanos();
            try {
                while (System.nanoTime() < end) {
                    quietPeriod(storm, locks);
                    injectRandomFault(storm, locks);
                }
            } catch (AssertionError e) {
                print("FAIL during the faults: " + e.getMessage());
                return 1;
            }
            print("faults injected " + faults + "; slowest recovery " + slowestRecovery.toMillis()
                    + " ms (bound " + Faults.RECOVERY_BOUND.toMillis() + " ms)");
            print("invariant checks:");
            try {
                storm.stopAndVerify(line -> print("  " + line));
                print("  PASS never over quota (raw samples, final counters, ledger)");
                print("  PASS no lost or doubled update (every counter explained by the ledger)");
                locks.stopAndVerify(line -> print("  " + line));
                print("  PASS lock safety (no overlapping holds with a writer; fencing tokens increase)");
                print("  PASS liveness (every recovery within " + Faults.RECOVERY_BOUND.toMillis() + " ms)");
                print("  PASS client crashes (" + crashes + "): lock freed with its lease, refresh restored the truth");
            } catch (AssertionError e) {
                print("  FAIL " + e.getMessage());
                return 1;
            }
        }
        print("all invariants hold");
        return 0;
    }

    private void quietPeriod(QuotaStorm storm, LockContention locks) throws InterruptedException {
        storm.awaitMoreSuccesses(20, Faults.RECOVERY_BOUND);
        locks.awaitMoreSuccesses(20, Faults.RECOVERY_BOUND);
        Thread.sleep(ThreadLocalRandom.current().nextLong(1_000, 5_000)); // the soak's pacing between faults
    }

    private void injectRandomFault(QuotaStorm storm, LockContention locks) throws Exception {
        int dice = ThreadLocalRandom.current().nextInt(3);
        if (dice == 0) {
            count("leader kill");
            EtcdMember killed = Faults.killLeader(etcd, Soak::print);
            awaitRecovery("after the new leader", storm, locks);
            killed.restart();
        } else if (dice == 1) {
            count("member stop/restart");
            EtcdMember stopped = etcd.member(ThreadLocalRandom.current().nextInt(etcd.members().size()));
            stopped.stop();
            print("stopped member " + stopped.name());
            awaitRecovery("with " + stopped.name() + " down", storm, locks);
            stopped.restart();
        } else {
            count("client crash");
            crashClient();
        }
        awaitRecovery("after the fault ended", storm, locks);
    }

    private void awaitRecovery(String when, QuotaStorm storm, LockContention locks) throws InterruptedException {
        Duration quota = storm.awaitMoreSuccesses(5, Faults.RECOVERY_BOUND);
        Duration lock = locks.awaitMoreSuccesses(5, Faults.RECOVERY_BOUND);
        Duration slower = quota.compareTo(lock) > 0 ? quota : lock;
        slowestRecovery = slower.compareTo(slowestRecovery) > 0 ? slower : slowestRecovery;
        print("  " + when + ": reservations in " + quota.toMillis() + " ms, locks in " + lock.toMillis() + " ms");
    }

    /** A client JVM reserves and is killed; its read lock ends with its lease and a refresh restores the truth. */
    private void crashClient() throws Exception {
        String crashNamespace = namespace + "-crash";
        String account = "crash-" + (++crashes);
        MutableHandler truth = new MutableHandler(QuotaStorm.START_USED, QuotaStorm.QUOTA);
        RawEtcd raw = new RawEtcd(etcd.newClient(), crashNamespace);
        try (QuotaManager quota = QuotaStorm.manager(etcd.newClient(), crashNamespace, CRASH_LEASE,
                QuotaStorm.OPERATION_TIMEOUT, truth);
             ChildJvm child = ChildJvm.start(QuotaHolderProcess.class, etcd.endpointList(), crashNamespace, account,
                     "reserve", "3", Long.toString(CRASH_LEASE.toMillis()))) {
            child.awaitLine(QuotaHolderProcess.RESERVED);
            child.kill();
            check(raw.used(account, "CPU") == QuotaStorm.START_USED + 3, "the dead client's reservation is counted");
            Faults.Timed<?> refreshed = Faults.eventually("a refresh after the crash",
                    CRASH_LEASE.plus(Faults.LEASE_EXPIRY_MARGIN), () -> quota.refresh(account, true));
            check(raw.used(account, "CPU") == truth.used.get(), "the refresh restores the truth");
            check(raw.locks().isEmpty(), "no lock left after the dead client's lease");
            print("killed client JVM " + child.pid() + " holding a reservation; its lock ended and the refresh ran "
                    + refreshed.took().toMillis() + " ms after the kill");
        }
    }

    private static void check(boolean holds, String what) {
        if (!holds) {
            throw new AssertionError("client crash: " + what + " does not hold");
        }
    }

    private void count(String fault) {
        faults.merge(fault, 1, Integer::sum);
    }

    private static void print(String line) {
        System.out.println(LocalTime.now().truncatedTo(ChronoUnit.MILLIS) + " " + line);
        System.out.flush();
    }
}
