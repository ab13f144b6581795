package io.woslo.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Reservations kept, reservations rolled back, deletions ({@code cleanUsed}), late rollbacks and refreshes, all at
 * once from several threads and managers; at the end every counter equals the test's ledger.
 *
 * <p>The ledger is the system of record: per account and resource, the units committed. The handlers report it as
 * "used", so a refresh writes it to the counter. It is kept equal to the truth the way a real service would:
 * <ul>
 *   <li>a kept reservation adds its amounts to the ledger before {@code close()}, while the account's read lock is
 *       still held, so no refresh can see the counter without the ledger or the other way round;
 *   <li>a rolled-back reservation never touches the committed units;
 *   <li>a deletion lowers the ledger, then calls {@code cleanUsed} (or a late {@code rollback} with the time of the
 *       change as error time), ordered against refreshes as {@link QuotaStorm} explains.
 * </ul>
 * Reservations, rollbacks and deletions race freely with each other, and reservations race with refreshes.
 * At every quiet moment {@code counter == ledger}, and so at the end. The storm is {@link QuotaStorm} under
 * {@link QuotaStorm.Plan#RACES}: no fault, so every call's outcome is known.
 */
@WithEtcd
class QuotaStormIT {
    private static final int CLIENTS = 3;
    private static final int THREADS = 6;
    private static final int OPS_PER_THREAD = 60;

    private final String namespace = "/t-" + UUID.randomUUID();

    @Test
    void countersEqualTheLedgerAfterAStormOfReservationsRollbacksDeletionsAndRefreshes(EtcdCluster etcd)
            throws Exception {
        try (QuotaStorm storm = QuotaStorm.start(etcd, namespace, QuotaStorm.Plan.RACES, CLIENTS, THREADS,
                OPS_PER_THREAD, TestTimeouts.step().multipliedBy(3))) {
            assertThat(storm.finish(TestTimeouts.step().multipliedBy(3))).isTrue();

            assertThat(storm.unexpected()).isEmpty();
            assertThat(storm.ledger().unknowns()).as("calls whose outcome is unknown, with no fault").isEmpty();
            for (String outcome : List.of("kept", "rolledBack", "exceeded", "cleaned", "lateRollback", "refresh")) {
                assertThat(storm.outcome(outcome, 0)).as("the storm exercised '%s'", outcome).isPositive();
            }
            QuotaLedger ledger = storm.ledger();
            for (String account : QuotaStorm.ACCOUNTS) {
                for (Map.Entry<String, Long> resource : storm.plan().quotas().entrySet()) {
                    assertThat(storm.raw().used(account, resource.getKey()))
                            .as("counter %s/%s", account, resource.getKey())
                            .isEqualTo(ledger.committed(account, resource.getKey()));
                    assertThat(ledger.committedPeak(account, resource.getKey()))
                            .as("highest ledger of %s/%s", account, resource.getKey())
                            .isLessThanOrEqualTo(resource.getValue());
                }
            }
            assertThat(storm.raw().locks()).as("account locks once every call has returned").isEmpty();
        }
    }
}
