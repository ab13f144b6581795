package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.woslo.testing.EtcdCluster;
import io.woslo.testing.FaultInterceptor;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Tries to break the lifecycle of reservations: commit of part with its transaction's answer lost or its transaction
 * held past the deadline (all or nothing), ends racing ends and extensions from two processes, commit after close.
 */
@WithEtcd
class LifecycleBreakIT extends QuotaItSupport {
    private static final Duration WAIT = TestTimeouts.step();

    private QuotaManager manager(io.etcd.jetcd.Client client) {
        return closeLater(QuotaManager.builder(client).namespace(namespace).resource("CPUA", new FixedHandler(5, 100))
                .resource("CPUB", new FixedHandler(0, 100)).operationTimeout(Duration.ofSeconds(4))
                .healthCheckInterval(Duration.ofHours(1)).build());
    }

    private static <T> T get(CompletableFuture<T> future) throws Exception {
        return future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** A stored commit of part whose answer is lost: it landed, so it reports success; exactly the rest went back. */
    @Test
    void aStoredCommitWhoseAnswerIsLostGivesBackExactlyTheRestOnce(EtcdCluster etcd) throws Exception {
        FaultInterceptor faults = new FaultInterceptor();
        QuotaManager quota = manager(etcd.newClient(faults));
        StoredReservation made = get(quota.prepareStoredAsync(account, Map.of("CPUA", 6L, "CPUB", 4L)));
        assertThat(raw.used(account, "CPUA")).isEqualTo(11);

        faults.delayReply(FaultInterceptor.KV_TXN, Duration.ZERO, 1); // the end's read of the record passes
        FaultInterceptor.Fault lost = faults.loseReply(FaultInterceptor.KV_TXN, 1); // its write's answer is lost
        assertThat(get(quota.finishStoredAsync(made.id(), Map.of("CPUA", 2L), null))).isTrue();
        assertThat(lost.injected()).isEqualTo(1);
        assertThat(raw.used(account, "CPUA")).as("kept 2 of 6").isEqualTo(7);
        assertThat(raw.used(account, "CPUB")).as("kept none of 4").isEqualTo(0);
        assertThat(raw.under("/reservations/")).isEmpty();
        assertThat(raw.locks()).isEmpty();
        assertThat(get(quota.finishStoredAsync(made.id(), Map.of("CPUA", 2L), null))).as("ended").isFalse();
    }

    /**
     * A stored commit whose transaction reaches etcd only after its deadline: not applied (record, entry and counters
     * as they were), and it can never land later; a retry then commits exactly once.
     */
    @Test
    void aStoredCommitHeldPastItsDeadlineChangesNothingAndNeverLandsLater(EtcdCluster etcd) throws Exception {
        FaultInterceptor faults = new FaultInterceptor();
        QuotaManager quota = manager(etcd.newClient(faults));
        StoredReservation made = get(quota.prepareStoredAsync(account, Map.of("CPUA", 6L, "CPUB", 4L)));
        Map<String, String> locks = raw.locks();

        faults.delayReply(FaultInterceptor.KV_TXN, Duration.ZERO, 1); // the end's read of the record passes
        FaultInterceptor.Fault held = faults.hold(FaultInterceptor.KV_TXN, 1); // its write is held
        assertThatThrownBy(() -> get(quota.finishStoredAsync(made.id(), Map.of("CPUA", 2L), null)))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(QuotaUnavailableException.class)
                .cause().isNotInstanceOf(QuotaOutcomeUnknownException.class);
        assertThat(raw.used(account, "CPUA")).isEqualTo(11);
        assertThat(raw.used(account, "CPUB")).isEqualTo(4);
        assertThat(raw.under("/reservations/")).hasSize(1);
        assertThat(raw.locks().keySet()).isEqualTo(locks.keySet());

        held.release(); // the old transaction reaches etcd now
        assertThat(held.awaitAnswered(1, WAIT)).isTrue();
        assertThat(raw.used(account, "CPUA")).as("the late transaction did not land").isEqualTo(11);
        assertThat(raw.under("/reservations/")).hasSize(1);

        assertThat(get(quota.finishStoredAsync(made.id(), Map.of("CPUA", 2L), null))).isTrue();
        assertThat(raw.used(account, "CPUA")).isEqualTo(7);
        assertThat(raw.used(account, "CPUB")).isEqualTo(0);
        assertThat(raw.under("/reservations/")).isEmpty();
        assertThat(raw.locks()).isEmpty();
    }

    /**
     * A finally sent blind (no read: the id names the account and the entry) held past its deadline: not applied,
     * and the record is rewritten so that the held transaction can never land; the retry ends it once.
     */
    @Test
    void aBlindFinishHeldPastItsDeadlineNeverLandsLater(EtcdCluster etcd) throws Exception {
        FaultInterceptor faults = new FaultInterceptor();
        QuotaManager quota = manager(etcd.newClient(faults));
        quota.refresh(account, true); // counters exist: the reservation takes the fast path and names its entry
        StoredReservation made = get(quota.prepareStoredAsync(account, Map.of("CPUA", 6L)));

        FaultInterceptor.Fault held = faults.hold(FaultInterceptor.KV_TXN, 1); // the blind end is held
        assertThatThrownBy(() -> get(quota.finishStoredAsync(made.id())))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(QuotaUnavailableException.class)
                .cause().isNotInstanceOf(QuotaOutcomeUnknownException.class);
        assertThat(raw.under("/reservations/")).hasSize(1);
        held.release();
        assertThat(held.awaitAnswered(1, WAIT)).isTrue();
        assertThat(raw.under("/reservations/")).as("the late transaction did not land").hasSize(1);
        assertThat(raw.locks()).hasSize(1);

        assertThat(get(quota.finishStoredAsync(made.id()))).isTrue();
        assertThat(raw.under("/reservations/")).isEmpty();
        assertThat(raw.locks()).isEmpty();
        assertThat(raw.used(account, "CPUA")).isEqualTo(11);
    }

    /** A blind finish whose answer is lost: with a key the retry learns it ended; without, it is outcome unknown. */
    @Test
    void aBlindFinishWhoseAnswerIsLostIsUnknownWithoutAKey(EtcdCluster etcd) throws Exception {
        FaultInterceptor faults = new FaultInterceptor();
        QuotaManager quota = manager(etcd.newClient(faults));
        quota.refresh(account, true);
        StoredReservation plain = get(quota.prepareStoredAsync(account, Map.of("CPUA", 1L)));
        StoredReservation keyed = get(quota.prepareStoredAsync(account, Map.of("CPUA", 1L)));

        faults.loseReply(FaultInterceptor.KV_TXN, 1);
        assertThatThrownBy(() -> get(quota.finishStoredAsync(plain.id())))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(QuotaOutcomeUnknownException.class);
        assertThat(get(quota.finishStoredAsync(plain.id()))).as("the retry: it had ended").isFalse();

        IdempotencyKey key = new IdempotencyKey("blind-finish", "fp");
        faults.loseReply(FaultInterceptor.KV_TXN, 1);
        assertThat(get(quota.finishStoredAsync(keyed.id(), null, key))).as("settled by its key").isTrue();
        assertThat(get(quota.finishStoredAsync(keyed.id(), null, key))).isTrue();
        assertThat(raw.under("/reservations/")).isEmpty();
        assertThat(raw.locks()).isEmpty();
        assertThat(raw.used(account, "CPUA")).isEqualTo(7);
    }

    /** The same for a reservation held in memory: all or nothing, and a retry after "not applied" commits once. */
    @Test
    void aHeldCommitIsAllOrNothing(EtcdCluster etcd) throws Exception {
        FaultInterceptor faults = new FaultInterceptor();
        QuotaManager quota = manager(etcd.newClient(faults));
        Reservation lostAnswer = quota.prepareOccupying(account, Map.of("CPUA", 6L));
        FaultInterceptor.Fault lost = faults.loseReply(FaultInterceptor.KV_TXN, 1);
        lostAnswer.commit(Map.of("CPUA", 1L));
        assertThat(lost.injected()).isEqualTo(1);
        assertThat(raw.used(account, "CPUA")).isEqualTo(6);
        assertThat(raw.locks()).isEmpty();

        Reservation late = quota.prepareOccupying(account, Map.of("CPUA", 6L));
        FaultInterceptor.Fault held = faults.hold(FaultInterceptor.KV_TXN, 1);
        assertThatThrownBy(() -> late.commit(Map.of("CPUA", 1L))).isInstanceOf(QuotaUnavailableException.class)
                .isNotInstanceOf(QuotaOutcomeUnknownException.class);
        assertThat(raw.used(account, "CPUA")).as("nothing given back").isEqualTo(12);
        held.release();
        assertThat(held.awaitAnswered(1, WAIT)).isTrue();
        assertThat(raw.used(account, "CPUA")).as("the late transaction did not land").isEqualTo(12);
        late.commit(Map.of("CPUA", 1L)); // "not applied": it may be committed again
        assertThat(raw.used(account, "CPUA")).isEqualTo(7);
        assertThat(raw.locks()).isEmpty();
        assertThatThrownBy(() -> late.commit(Map.of("CPUA", 1L))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void commitAfterCloseOrRollbackIsRefusedAndChangesNothing(EtcdCluster etcd) throws Exception {
        QuotaManager quota = manager(etcd.newClient());
        Reservation closed = quota.prepareOccupying(account, Map.of("CPUA", 3L));
        closed.close();
        assertThatThrownBy(() -> closed.commit(Map.of("CPUA", 1L))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> closed.extend(Duration.ofSeconds(5))).isInstanceOf(IllegalStateException.class);
        Reservation rolledBack = quota.prepareOccupying(account, Map.of("CPUA", 3L));
        rolledBack.rollback();
        assertThatThrownBy(() -> rolledBack.commit(Map.of("CPUA", 1L))).isInstanceOf(IllegalStateException.class);
        rolledBack.close(); // the seed's Rollback then Finally
        assertThat(raw.used(account, "CPUA")).isEqualTo(8);
        Reservation tooMuch = quota.prepareOccupying(account, Map.of("CPUA", 3L));
        assertThatThrownBy(() -> tooMuch.commit(Map.of("CPUA", 4L))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> tooMuch.commit(Map.of("CPUB", 1L))).isInstanceOf(IllegalArgumentException.class);
        tooMuch.commit(Map.of("CPUA", 3L));
        assertThat(raw.used(account, "CPUA")).isEqualTo(11);
        assertThat(raw.locks()).isEmpty();
    }

    /** A rollback and a finally of one reservation from two processes: exactly one ends it; counters agree. */
    @Test
    void aRollbackRacingAFinallyFromTwoProcessesEndsItOnce(EtcdCluster etcd) throws Exception {
        QuotaManager a = manager(etcd.newClient());
        QuotaManager b = manager(etcd.newClient());
        long expected = 5;
        assertThat(get(a.rollbackStoredAsync(get(a.prepareStoredAsync(account, Map.of("CPUA", 1L))).id())))
                .as("the counter exists").isTrue();
        for (int round = 0; round < 20; round++) {
            StoredReservation made = get((round % 2 == 0 ? a : b).prepareStoredAsync(account, Map.of("CPUA", 3L)));
            CompletableFuture<Boolean> rollback = a.rollbackStoredAsync(made.id());
            CompletableFuture<Boolean> finish = b.finishStoredAsync(made.id(), round % 3 == 0 ? Map.of("CPUA", 1L)
                    : null, null);
            boolean rolledBack = get(rollback);
            boolean finished = get(finish);
            assertThat(rolledBack ^ finished).as("round " + round + ": exactly one ended it").isTrue();
            expected += finished ? (round % 3 == 0 ? 1 : 3) : 0;
            assertThat(raw.used(account, "CPUA")).as("round " + round).isEqualTo(expected);
        }
        assertThat(raw.under("/reservations/")).isEmpty();
        assertThat(raw.locks()).isEmpty();
    }

    /** An extension racing a finally: the finally always ends it, and nothing is left behind. */
    @Test
    void anExtensionRacingAFinallyNeverKeepsAnEndedReservation(EtcdCluster etcd) throws Exception {
        QuotaManager a = manager(etcd.newClient());
        QuotaManager b = manager(etcd.newClient());
        for (int round = 0; round < 15; round++) {
            long before = round == 0 ? 5 : raw.used(account, "CPUA");
            StoredReservation made = get(a.prepareStoredAsync(account, Map.of("CPUA", 2L)));
            CompletableFuture<Optional<StoredReservation>> extend = a.extendStoredAsync(made.id(),
                    Duration.ofMinutes(5));
            CompletableFuture<Boolean> finish = b.finishStoredAsync(made.id(), Map.of("CPUA", 1L), null);
            assertThat(get(finish)).as("round " + round).isTrue();
            get(extend);
            assertThat(raw.used(account, "CPUA")).as("round " + round).isEqualTo(before + 1);
            assertThat(raw.under("/reservations/")).as("round " + round).isEmpty();
            assertThat(raw.locks()).as("round " + round).isEmpty();
        }
    }
}
