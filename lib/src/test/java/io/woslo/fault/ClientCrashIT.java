package io.woslo.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.woslo.quota.MutableHandler;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.QuotaBusyException;
import io.woslo.quota.Reservation;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A client JVM killed with SIGKILL while it holds an account lock: the lock ends with its lease (not before, not
 * much after), the counter stays consistent with what was done, and a later refresh brings it to the truth.
 */
@WithEtcd(members = 3)
class ClientCrashIT {
    private static final Duration CHILD_LEASE = Duration.ofSeconds(3);
    /** Longer than the parent's operation timeout, so a reservation right after the crash must still wait. */
    private static final Duration CHILD_WRITE_LEASE = Duration.ofSeconds(6);

    private final String namespace = "/fault-" + UUID.randomUUID();

    @Test
    void aReservationsReadLockHeldByAKilledJvmEndsWithItsLeaseAndARefreshBringsTheCounterToTheTruth(EtcdCluster etcd)
            throws Exception {
        String account = "crashed-reader";
        MutableHandler truth = new MutableHandler(QuotaStorm.START_USED, QuotaStorm.QUOTA);
        RawEtcd raw = new RawEtcd(etcd.newClient(), namespace);
        try (QuotaManager quota = QuotaStorm.manager(etcd.newClient(), namespace, CHILD_LEASE,
                QuotaStorm.OPERATION_TIMEOUT, truth)) {
            quota.refresh(account, true);
            crashWhileHolding(etcd, account, "reserve", 4, CHILD_LEASE, QuotaHolderProcess.RESERVED);

            assertThat(raw.locks()).as("the dead holder's read lock outlives its process").hasSize(1);
            assertThat(raw.used(account, "CPU")).isEqualTo(QuotaStorm.START_USED + 4);
            try (Reservation mine = quota.prepareOccupying(account, Map.of("CPU", 2L))) {
                truth.used.addAndGet(2); // the work this reservation guarded is done: the system of record has it
            }
            assertThat(raw.used(account, "CPU")).as("reservations go on beside the dead reader's lock")
                    .isEqualTo(QuotaStorm.START_USED + 4 + 2);

            Faults.Timed<?> refreshed = Faults.eventually("a refresh (write lock) after the dead reader's lease",
                    CHILD_LEASE.plus(Faults.LEASE_EXPIRY_MARGIN), () -> quota.refresh(account, true));
            Faults.log("the refresh got the write lock " + refreshed.took().toMillis() + " ms after the kill");

            assertThat(raw.used(account, "CPU")).as("the refresh drops the dead reservation: the truth")
                    .isEqualTo(QuotaStorm.START_USED + 2).isEqualTo(truth.used.get());
            assertThat(raw.locks()).isEmpty();
        }
    }

    @Test
    void aWriteLockHeldByAKilledJvmEndsWithItsLeaseAndReservationsResume(EtcdCluster etcd) throws Exception {
        String account = "crashed-writer";
        RawEtcd raw = new RawEtcd(etcd.newClient(), namespace);
        try (QuotaManager quota = QuotaStorm.manager(etcd.newClient(), namespace, CHILD_LEASE)) {
            quota.refresh(account, true);
            crashWhileHolding(etcd, account, "refresh", 0, CHILD_WRITE_LEASE, QuotaHolderProcess.WRITE_LOCKED);

            assertThat(raw.locks()).as("the dead refresh's write lock outlives its process").hasSize(1);
            assertThatThrownBy(() -> quota.prepareOccupying(account, Map.of("CPU", 1L)))
                    .as("a reservation waits for the write lock half its operation timeout, then gives up as busy")
                    .isInstanceOf(QuotaBusyException.class);
            Faults.Timed<Reservation> reserved = Faults.eventually("a reservation after the dead writer's lease",
                    CHILD_WRITE_LEASE.plus(Faults.LEASE_EXPIRY_MARGIN), () -> quota.prepareOccupying(account,
                            Map.of("CPU", 1L)));
            reserved.value().close();
            Faults.log("a reservation got the read lock " + reserved.took().toMillis() + " ms after the first refusal");

            assertThat(raw.used(account, "CPU")).as("the dead refresh wrote nothing; one reservation since")
                    .isEqualTo(QuotaStorm.START_USED + 1);
            assertThat(raw.locks()).isEmpty();
        }
    }

    /** Starts a {@link QuotaHolderProcess}, waits for its {@code line} (the lock is held), then kills it (-9). */
    private void crashWhileHolding(EtcdCluster etcd, String account, String mode, long amount, Duration lease,
                                   String line) throws Exception {
        try (ChildJvm child = ChildJvm.start(QuotaHolderProcess.class, etcd.endpointList(), namespace, account, mode,
                Long.toString(amount), Long.toString(lease.toMillis()))) {
            child.awaitLine(line);
            child.kill();
            Faults.log("killed client JVM " + child.pid() + " (" + mode + " of account " + account + ")");
        }
    }
}
