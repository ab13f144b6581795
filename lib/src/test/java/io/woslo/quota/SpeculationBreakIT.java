package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;
import io.woslo.internal.KeyLayout;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Attempts to break speculative batches ({@code Speculation#speculate}): a speculative transaction held by
 * the client past its caller's deadline, the settlement of one whose answer was lost, and a refresh queued while
 * speculative batches of three processes race at the quota's edge.
 */
@WithEtcd
class SpeculationBreakIT extends QuotaItSupport {
    private static final Duration OP_TIMEOUT = Duration.ofSeconds(2);

    private QuotaManager contended(Client client, UsedQuotaHandler cpu) {
        return closeLater(QuotaManager.builder(client).namespace(namespace).cacheTtl(Duration.ofHours(1))
                .operationTimeout(OP_TIMEOUT).healthCheckInterval(Duration.ofHours(1)).resource("CPUA", cpu).build());
    }

    /** Two managers on the account (used 0 of 100), {@code a} on a client with {@code faults}. */
    private record Contended(TxnFaults faults, QuotaManager a, QuotaManager b) {
    }

    /** Two managers, {@code a}'s client with faults to arm, the counter loaded and {@code a}'s account contended. */
    private Contended contendedOnAFaultyClient(EtcdCluster etcd) {
        MutableHandler cpu = new MutableHandler(0, 100);
        TxnFaults faults = new TxnFaults();
        QuotaManager a = contended(etcd.newClient(faults), cpu);
        QuotaManager b = contended(etcd.newClient(), cpu);
        a.refresh(account, true);
        contend(a, b);
        return new Contended(faults, a, b);
    }

    /** Makes {@code a} lose a round to {@code b} on the account, so that its next batch is speculative. */
    private void contend(QuotaManager a, QuotaManager b) {
        a.prepareOccupying(account, Map.of("CPUA", 1L)).close(); // a sees used 1
        b.prepareOccupying(account, Map.of("CPUA", 1L)).close(); // 2: a's view is stale
        long conflicts = a.conflictCount();
        long speculated = a.speculativeCommits();
        a.prepareOccupying(account, Map.of("CPUA", 1L)).close(); // a loses a round; 3
        assertThat(a.conflictCount() + a.speculativeCommits())
                .as("a lost a round (or, contended already, committed speculatively): its account is contended")
                .isEqualTo(conflicts + speculated + 1);
    }

    /** A reservation of {@code a} that fails because it was sent speculatively and its transaction is held. */
    private void failASpeculativeBatch(QuotaManager a, TxnFaults.Fault held) throws Exception {
        CompletableFuture<Reservation> lost = a.prepareOccupyingAsync(account, Map.of("CPUA", 1L));
        assertThat(held.awaitFired(TestTimeouts.step())).as("the batch was sent speculatively").isTrue();
        assertThat(held.awaitAnswered(Duration.ZERO)).as("and held").isFalse();
        try {
            lost.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).close();
            throw new AssertionError("a reservation whose transaction never reached etcd succeeded");
        } catch (ExecutionException e) {
            assertThat(e.getCause()).as("told 'not applied'").isInstanceOf(QuotaUnavailableException.class)
                    .isNotInstanceOf(QuotaOutcomeUnknownException.class);
        }
    }

    /**
     * Reserves 1 on {@code a} and closes it, retrying while the lane still settles an earlier batch: returns once a
     * reservation went through, so that every settlement of the lane before it has completed.
     */
    private void reserveAfterTheLaneSettled(QuotaManager a) {
        Await.retrying("a reservation once the lane has settled", TestTimeouts.step(),
                e -> e instanceof QuotaUnavailableException, () -> {
                    a.prepareOccupying(account, Map.of("CPUA", 1L)).close();
                    return null;
                });
    }

    /**
     * The withdrawal of a speculative transaction whose answer never came created its sentinel entry and then
     * deleted it: once deleted, the sentinel is "absent" again, so the transaction, still held by the client, could
     * land afterwards on a level comparing the counter's value (reached again by later reservations). Its caller
     * had been told "not applied": its amount would stay counted, with a lock entry nobody holds.
     */
    @Test
    void aHeldSpeculativeBatchReleasedAfterItsWithdrawalNeverLands(EtcdCluster etcd) throws Exception {
        Contended two = contendedOnAFaultyClient(etcd);
        TxnFaults faults = two.faults();
        QuotaManager a = two.a();

        TxnFaults.Fault held = faults.hold(TxnFaults::speculative);
        failASpeculativeBatch(a, held);
        reserveAfterTheLaneSettled(a); // 4: the held batch's level 1 compares exactly this value
        assertThat(raw.used(account, "CPUA")).isEqualTo(4);

        held.release();
        assertThat(held.awaitAnswered(TestTimeouts.step())).as("etcd answered the released transaction").isTrue();
        assertThat(raw.used(account, "CPUA")).as("the batch reported as not applied never landed").isEqualTo(4);
        assertThat(raw.locks()).as("no lock entry that nobody holds").isEmpty();
    }

    /**
     * The withdrawal's first transaction creates the sentinel; when ITS answer is lost, the retry finds the sentinel
     * present and took that for the batch having landed: it "gave back" the first request's amount, which had never
     * been added, so the counter showed less than is used (and the quota could be exceeded).
     */
    @Test
    void aWithdrawalWhoseAnswerIsLostIsNotTakenForTheBatchHavingLanded(EtcdCluster etcd) throws Exception {
        Contended two = contendedOnAFaultyClient(etcd);
        TxnFaults faults = two.faults();
        QuotaManager a = two.a();

        TxnFaults.Fault held = faults.hold(TxnFaults::speculative);
        TxnFaults.Fault withdrawal = faults.lose(TxnFaults::createsAnEntryItComparesAbsent, 1);
        failASpeculativeBatch(a, held);
        reserveAfterTheLaneSettled(a);
        assertThat(withdrawal.fired()).as("the withdrawal's answer was lost").isEqualTo(1);
        assertThat(raw.used(account, "CPUA")).as("3, plus the reservation made after the settlement; nothing given"
                + " back that was never added").isEqualTo(4);
        assertThat(raw.locks()).isEmpty();

        held.release();
        assertThat(held.awaitAnswered(TestTimeouts.step())).isTrue();
        assertThat(raw.used(account, "CPUA")).as("and the held batch never lands").isEqualTo(4);
        assertThat(raw.locks()).isEmpty();
    }

    /** A speculative batch that landed but whose answer was lost is given back exactly once. */
    @Test
    void aLandedSpeculativeBatchWhoseAnswerIsLostIsGivenBackOnce(EtcdCluster etcd) throws Exception {
        Contended two = contendedOnAFaultyClient(etcd);
        TxnFaults faults = two.faults();
        QuotaManager a = two.a();

        TxnFaults.Fault lost = faults.lose(TxnFaults::speculative, 1);
        CompletableFuture<Reservation> reservation = a.prepareOccupyingAsync(account, Map.of("CPUA", 5L));
        try {
            reservation.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).close();
            throw new AssertionError("a reservation whose answer was lost succeeded");
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(QuotaUnavailableException.class)
                    .isNotInstanceOf(QuotaOutcomeUnknownException.class);
        }
        assertThat(lost.fired()).isEqualTo(1);
        reserveAfterTheLaneSettled(a);
        assertThat(raw.used(account, "CPUA")).as("3 + 1: the landed 5 given back, once").isEqualTo(4);
        assertThat(raw.locks()).isEmpty();
    }

    /**
     * Stored reservations sent speculatively whose answers are lost: one with an idempotency key is kept as it
     * landed (outcome unknown; the retry with the key answers the same reservation, counted once); one without a
     * key is told "not applied" and undone (amount given back, record and entry deleted).
     */
    @Test
    void storedReservationsInLostSpeculativeBatchesAreKeptWithAKeyAndUndoneWithout(EtcdCluster etcd)
            throws Exception {
        Contended two = contendedOnAFaultyClient(etcd);
        TxnFaults faults = two.faults();
        QuotaManager a = two.a();
        QuotaManager b = two.b();

        IdempotencyKey key = new IdempotencyKey("create-" + account, "create 4");
        TxnFaults.Fault lostKeyed = faults.lose(TxnFaults::speculative, 1);
        Throwable keyedFailure = null;
        try {
            a.prepareStoredAsync(account, Map.of("CPUA", 4L), key)
                    .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            keyedFailure = e.getCause();
        }
        assertThat(lostKeyed.fired()).as("sent speculatively, answer lost").isEqualTo(1);
        assertThat(keyedFailure).isInstanceOf(QuotaOutcomeUnknownException.class);
        AtomicReference<StoredReservation> answer = new AtomicReference<>();
        Await.until("the retry with the key answers (the lane settles the lost batch first)", () -> {
            try {
                answer.set(a.prepareStoredAsync(account, Map.of("CPUA", 4L), key)
                        .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS));
                return true;
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(QuotaUnavailableException.class);
                return false;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        StoredReservation kept = answer.get();
        assertThat(raw.used(account, "CPUA")).as("3 + 4, once").isEqualTo(7);
        assertThat(a.listStoredAsync(account).get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS))
                .extracting(StoredReservation::id).containsExactly(kept.id());

        contend(a, b); // 10; contended again
        TxnFaults.Fault lostPlain = faults.lose(TxnFaults::speculative, 1);
        Throwable plainFailure = null;
        try {
            a.prepareStoredAsync(account, Map.of("CPUA", 5L))
                    .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            plainFailure = e.getCause();
        }
        assertThat(lostPlain.fired()).isEqualTo(1);
        assertThat(plainFailure).isInstanceOf(QuotaUnavailableException.class)
                .isNotInstanceOf(QuotaOutcomeUnknownException.class);
        reserveAfterTheLaneSettled(a); // 11
        assertThat(raw.used(account, "CPUA")).as("the landed 5 given back").isEqualTo(11);
        assertThat(a.listStoredAsync(account).get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS))
                .extracting(StoredReservation::id).containsExactly(kept.id());
        assertThat(a.finishStoredAsync(kept.id()).get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        assertThat(raw.locks()).isEmpty();
    }

    /**
     * Duplicates of one keyed stored reservation sent at once on a contended account, among other reservations of
     * two processes: every duplicate answers the same reservation, and it is counted once.
     */
    @Test
    void duplicatesOfAKeyedStoredReservationOnAContendedAccountAnswerOneReservationCountedOnce(EtcdCluster etcd)
            throws Exception {
        MutableHandler cpu = new MutableHandler(0, 1000);
        QuotaManager a = contended(etcd.newClient(), cpu);
        QuotaManager b = contended(etcd.newClient(), cpu);
        a.refresh(account, true);
        for (int round = 0; round < 5; round++) {
            contend(a, b);
            long before = raw.used(account, "CPUA");
            IdempotencyKey key = new IdempotencyKey("dup-" + round, "create 7");
            List<CompletableFuture<StoredReservation>> duplicates = new ArrayList<>();
            List<CompletableFuture<Reservation>> others = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                others.add(b.prepareOccupyingAsync(account, Map.of("CPUA", 1L)));
                duplicates.add(a.prepareStoredAsync(account, Map.of("CPUA", 7L), key));
                others.add(a.prepareOccupyingAsync(account, Map.of("CPUA", 1L)));
            }
            java.util.Set<String> ids = new java.util.HashSet<>();
            for (CompletableFuture<StoredReservation> d : duplicates) {
                ids.add(d.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).id());
            }
            for (CompletableFuture<Reservation> o : others) {
                o.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).close();
            }
            assertThat(ids).as("round %d: one reservation", round).hasSize(1);
            assertThat(raw.used(account, "CPUA")).as("round %d: 7 once, plus 12 ones", round)
                    .isEqualTo(before + 7 + 12);
            assertThat(a.finishStoredAsync(ids.iterator().next()).get(TestTimeouts.step().toMillis(),
                    TimeUnit.MILLISECONDS)).isTrue();
            assertThat(raw.locks()).isEmpty();
        }
    }

    /**
     * Three processes race speculative batches on one account at its quota's edge while a fourth keeps
     * force-refreshing it. Every value the counter ever takes (seen by a watch) stays within the quota; a refresh
     * never runs while a reservation is open (the source of truth says 0 used and every reservation is rolled back,
     * so an erased reservation would drive the counter below zero on its rollback); everything ends at 0.
     */
    @Test
    void speculativeBatchesAtTheQuotaEdgeWithARefreshQueuedNeverOvercommitNorLoseAReservation(EtcdCluster etcd,
                                                                                              Client client)
            throws Exception {
        long quota = 10;
        MutableHandler cpu = new MutableHandler(0, quota);
        List<QuotaManager> managers = List.of(contended(etcd.newClient(), cpu), contended(etcd.newClient(), cpu),
                contended(etcd.newClient(), cpu));
        QuotaManager refresher = contended(etcd.newClient(), cpu);
        refresher.refresh(account, true);

        AtomicLong maxUsed = new AtomicLong();
        AtomicLong minUsed = new AtomicLong();
        AtomicLong values = new AtomicLong();
        ByteSequence counterKey = ByteSequence.from(namespace + "/quota/" + KeyLayout.escape(account) + "/CPUA",
                java.nio.charset.StandardCharsets.UTF_8);
        Watch.Watcher watcher = client.getWatchClient().watch(counterKey, WatchOption.DEFAULT, response ->
                response.getEvents().forEach(event -> {
                    long used = readUsed(event.getKeyValue().getValue());
                    values.incrementAndGet();
                    maxUsed.accumulateAndGet(used, Math::max);
                    minUsed.accumulateAndGet(used, Math::min);
                }));
        closeables.add(watcher);

        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong refreshes = new AtomicLong();
        List<Throwable> unexpected = java.util.Collections.synchronizedList(new ArrayList<>());
        // A refresh after every 15 reservations made: often enough to queue among the batches, rarely enough to
        // leave the account to the fast path (every queued writer sends the reservations to their slow path).
        java.util.concurrent.Semaphore made = new java.util.concurrent.Semaphore(0);
        CompletableFuture<Void> refreshing = CompletableFuture.runAsync(() -> {
            while (!stop.get()) {
                try {
                    if (!made.tryAcquire(15, 100, TimeUnit.MILLISECONDS)) {
                        continue;
                    }
                    refresher.refresh(account, true);
                    refreshes.incrementAndGet();
                } catch (QuotaBusyException | QuotaUnavailableException e) {
                    // busy behind open reservations: the next round tries again
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        });
        List<CompletableFuture<Void>> loops = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            QuotaManager quotaManager = managers.get(i % 3);
            long amount = 1 + i % 3;
            loops.add(CompletableFuture.runAsync(() -> {
                for (int n = 0; n < 25; n++) {
                    try (Reservation r = quotaManager.prepareOccupying(account, Map.of("CPUA", amount))) {
                        made.release();
                        r.rollback();
                    } catch (QuotaExceededException e) {
                        if (e.used() + e.requested() <= e.quota()) {
                            unexpected.add(e);
                        }
                    } catch (QuotaUnavailableException e) {
                        // contended past the operation timeout, or behind the refresh: nothing applied
                        if (e instanceof QuotaOutcomeUnknownException) {
                            unexpected.add(e);
                        }
                    } catch (RuntimeException e) {
                        unexpected.add(e);
                    }
                }
            }));
        }
        try {
            CompletableFuture.allOf(loops.toArray(CompletableFuture[]::new))
                    .get(TestTimeouts.step().toMillis() * 6, TimeUnit.MILLISECONDS);
        } finally {
            stop.set(true);
            refreshing.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        }

        assertThat(unexpected).as("no abnormal release, no wrong refusal, no unknown outcome").isEmpty();
        Await.until("the watch saw the last value", () -> raw.used(account, "CPUA") == 0 && values.get() > 0);
        assertThat(raw.locks()).as("every lock released").isEmpty();
        assertThat(maxUsed.get()).as("never over quota").isLessThanOrEqualTo(quota);
        assertThat(minUsed.get()).as("never below zero").isGreaterThanOrEqualTo(0);
        assertThat(refreshes.get()).as("the refresh ran while the batches raced").isPositive();
        assertThat(managers.stream().mapToLong(QuotaManager::speculativeCommits).sum())
                .as("some batches committed speculatively").isPositive();
    }

    private static long readUsed(ByteSequence value) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(value.getBytes()).path("used").asLong();
        } catch (java.io.IOException e) {
            throw new AssertionError("a counter that is not JSON", e);
        }
    }
}
