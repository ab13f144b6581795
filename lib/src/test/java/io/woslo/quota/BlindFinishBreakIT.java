package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.internal.KeyLayout;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Attempts to break the blind finish of a stored reservation (one transaction, no read, when its id names its
 * account and its entry is named after its id): a slow-path reservation, forged ids, races with an extension and a
 * rollback from other processes, a finish held by the client past its deadline, a finish whose answer is lost.
 */
@WithEtcd
class BlindFinishBreakIT extends QuotaItSupport {
    private static final Duration OP_TIMEOUT = Duration.ofSeconds(4);

    private QuotaManager quota(Client client) {
        return closeLater(QuotaManager.builder(client).namespace(namespace).cacheTtl(Duration.ofHours(1))
                .operationTimeout(OP_TIMEOUT).healthCheckInterval(Duration.ofHours(1))
                .resource("CPUA", new MutableHandler(10, 100)).build());
    }

    private static <T> T get(CompletableFuture<T> future) throws Exception {
        return future.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
    }

    private static Throwable failureOf(CompletableFuture<?> future) throws Exception {
        try {
            get(future);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    private boolean recordExists(String id) {
        return raw.value(namespace + "/reservations/" + KeyLayout.escape(id)).isPresent();
    }

    private static String b64(String account) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(account.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aSlowPathReservationFinishedWithoutABodyLeavesNoLockEntry(EtcdCluster etcd) throws Exception {
        QuotaManager quota = quota(etcd.newClient());
        // No counter yet: the fast path hands the reservation to the slow path, whose entry has another name.
        long slowBefore = quota.slowPathReservations();
        StoredReservation made = get(quota.prepareStoredAsync(account, Map.of("CPUA", 3L)));
        assertThat(quota.slowPathReservations()).as("made on the slow path").isGreaterThan(slowBefore);
        assertThat(made.id()).as("the id names its account").endsWith("." + b64(account));
        assertThat(raw.locks().keySet()).as("its entry is not named after its id")
                .noneMatch(k -> k.endsWith("/r-" + made.id().substring(0, 36)));

        assertThat(get(quota.finishStoredAsync(made.id()))).isTrue();
        assertThat(recordExists(made.id())).isFalse();
        assertThat(raw.locks()).as("its lock entry gone too").isEmpty();
        assertThat(raw.used(account, "CPUA")).as("kept").isEqualTo(13);
        assertThat(get(quota.finishStoredAsync(made.id()))).as("ended once").isFalse();
    }

    @Test
    void forgedIdsEndNothing(EtcdCluster etcd) throws Exception {
        QuotaManager quota = quota(etcd.newClient());
        String other = "other-" + account;
        quota.refresh(account, true);
        quota.refresh(other, true);
        StoredReservation mine = get(quota.prepareStoredAsync(account, Map.of("CPUA", 2L)));
        StoredReservation theirs = get(quota.prepareStoredAsync(other, Map.of("CPUA", 1L)));
        String uuid = mine.id().substring(0, 36);
        java.util.Set<String> locks = raw.locks().keySet();
        assertThat(locks).as("fast-path entries named after their ids").hasSize(2)
                .anyMatch(k -> k.endsWith("/r-" + uuid));

        for (String forged : new String[] {
                uuid + "." + b64(other),                  // my uuid, another account (which has an open reservation)
                theirs.id().substring(0, 36) + "." + b64(account), // their uuid, my account
                uuid + "." + b64(account) + "==",          // padded: the same account, another id
                uuid + "." + b64(account) + "A",           // more base64
                uuid + ".!*~",                             // not base64
                uuid + ".",                                // exactly 36 characters and a dot
                uuid,                                      // the uuid alone
                uuid + "." + b64("x/../" + account),       // an account that would climb out of its place
        }) {
            assertThat(get(quota.finishStoredAsync(forged))).as("forged id %s", forged).isFalse();
        }
        assertThat(raw.locks().keySet()).as("both entries still there").isEqualTo(locks);
        assertThat(recordExists(mine.id())).isTrue();
        assertThat(recordExists(theirs.id())).isTrue();
        assertThat(get(quota.finishStoredAsync(mine.id()))).isTrue();
        assertThat(get(quota.finishStoredAsync(theirs.id()))).isTrue();
        assertThat(raw.locks()).isEmpty();
        assertThat(raw.used(account, "CPUA")).isEqualTo(12);
        assertThat(raw.used(other, "CPUA")).isEqualTo(11);
    }

    @Test
    void aFinishRacingAnExtensionFromAnotherProcessEndsTheReservationAndLeavesNothing(EtcdCluster etcd)
            throws Exception {
        QuotaManager making = quota(etcd.newClient());
        QuotaManager finishing = quota(etcd.newClient());
        making.refresh(account, true);
        for (int i = 0; i < 12; i++) {
            StoredReservation made = get(making.prepareStoredAsync(account, Map.of("CPUA", 1L)));
            CompletableFuture<java.util.Optional<StoredReservation>> extended =
                    making.extendStoredAsync(made.id(), Duration.ofMinutes(5));
            CompletableFuture<Boolean> finished = finishing.finishStoredAsync(made.id());
            assertThat(get(finished)).as("round %d: the finish ends it, extended or not", i).isTrue();
            get(extended); // present or empty: either order is fine
            assertThat(recordExists(made.id())).isFalse();
            assertThat(raw.locks()).as("round %d: no entry left, on either lease", i).isEmpty();
            assertThat(raw.used(account, "CPUA")).isEqualTo(11 + i);
        }
    }

    @Test
    void aFinishRacingARollbackFromAnotherProcessEndsItOnce(EtcdCluster etcd) throws Exception {
        QuotaManager finishing = quota(etcd.newClient());
        QuotaManager rollingBack = quota(etcd.newClient());
        finishing.refresh(account, true);
        long expected = 10;
        for (int i = 0; i < 12; i++) {
            StoredReservation made = get(finishing.prepareStoredAsync(account, Map.of("CPUA", 2L)));
            CompletableFuture<Boolean> rolledBack = rollingBack.rollbackStoredAsync(made.id());
            CompletableFuture<Boolean> finished = finishing.finishStoredAsync(made.id());
            boolean finishWon = get(finished);
            assertThat(finishWon ^ get(rolledBack)).as("round %d: exactly one ends it", i).isTrue();
            expected += finishWon ? 2 : 0;
            assertThat(raw.used(account, "CPUA")).as("round %d: kept or given back, once", i).isEqualTo(expected);
            assertThat(raw.locks()).isEmpty();
        }
    }

    @Test
    void aFinishHeldPastItsDeadlineIsNotAppliedAndNeverLandsWhenReleased(EtcdCluster etcd) throws Exception {
        QuotaManager making = quota(etcd.newClient());
        TxnFaults faults = new TxnFaults();
        QuotaManager ending = quota(etcd.newClient(faults));
        making.refresh(account, true);
        StoredReservation made = get(making.prepareStoredAsync(account, Map.of("CPUA", 3L)));
        var locks = raw.locks();

        TxnFaults.Fault held = faults.hold(TxnFaults::blindFinish);
        Throwable thrown = failureOf(ending.finishStoredAsync(made.id()));
        assertThat(held.fired()).as("the blind finish was sent and held").isEqualTo(1);
        assertThat(thrown).as("told 'not applied'").isInstanceOf(QuotaUnavailableException.class)
                .isNotInstanceOf(QuotaOutcomeUnknownException.class);

        held.release();
        assertThat(held.awaitAnswered(TestTimeouts.step())).isTrue();
        assertThat(recordExists(made.id())).as("the held finish never landed").isTrue();
        assertThat(raw.locks()).isEqualTo(locks);

        assertThat(get(ending.finishStoredAsync(made.id()))).as("a retry ends it").isTrue();
        assertThat(recordExists(made.id())).isFalse();
        assertThat(raw.locks()).isEmpty();
        assertThat(raw.used(account, "CPUA")).isEqualTo(13);
    }

    @Test
    void aFinishWhoseAnswerIsLostIsOutcomeUnknownWithoutAKeyAndTrueWithOne(EtcdCluster etcd) throws Exception {
        QuotaManager making = quota(etcd.newClient());
        TxnFaults faults = new TxnFaults();
        QuotaManager ending = quota(etcd.newClient(faults));
        making.refresh(account, true);
        StoredReservation plain = get(making.prepareStoredAsync(account, Map.of("CPUA", 1L)));
        StoredReservation keyed = get(making.prepareStoredAsync(account, Map.of("CPUA", 2L)));

        TxnFaults.Fault lost = faults.lose(TxnFaults::blindFinish, 1);
        Throwable thrown = failureOf(ending.finishStoredAsync(plain.id()));
        assertThat(lost.fired()).isEqualTo(1);
        assertThat(thrown).as("ended, but by this call or another: unknown")
                .isInstanceOf(QuotaOutcomeUnknownException.class);
        assertThat(recordExists(plain.id())).isFalse();
        assertThat(get(ending.finishStoredAsync(plain.id()))).as("a retry without a key: already ended").isFalse();

        IdempotencyKey key = new IdempotencyKey("finish-" + keyed.id(), "finally " + keyed.id());
        TxnFaults.Fault lostKeyed = faults.lose(TxnFaults::blindFinish, 1);
        Boolean first = get(ending.finishStoredAsync(keyed.id(), null, key));
        assertThat(lostKeyed.fired()).isEqualTo(1);
        assertThat(first).as("the idempotency record says this call ended it").isTrue();
        assertThat(get(ending.finishStoredAsync(keyed.id(), null, key))).as("the retry answers the same").isTrue();
        assertThat(recordExists(keyed.id())).isFalse();
        assertThat(raw.locks()).isEmpty();
        assertThat(raw.used(account, "CPUA")).isEqualTo(13);
    }
}
