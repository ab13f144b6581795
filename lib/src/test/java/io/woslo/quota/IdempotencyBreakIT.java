package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.FaultInterceptor;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Tries to break the idempotency of stored reservations: duplicates with one key racing in one process (one fast-path
 * batch) and in two, duplicates of an end racing each other, and a batch in which one request's claim fails.
 */
@WithEtcd
class IdempotencyBreakIT extends QuotaItSupport {
    private static final Duration WAIT = TestTimeouts.step();

    private QuotaManager manager(Client client) {
        return closeLater(QuotaManager.builder(client).namespace(namespace).resource("CPUA", new FixedHandler(0, 1000))
                .healthCheckInterval(Duration.ofHours(1)).build());
    }

    private static IdempotencyKey key(String key, String request) {
        return new IdempotencyKey(key, request);
    }

    private static <T> T get(CompletableFuture<T> future) throws Exception {
        return future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Duplicates with one key submitted together in one process land in one fast-path batch: two puts of the same
     * idempotency key in one etcd transaction, which etcd refuses as a whole ("duplicate key given in txn request").
     */
    @Test
    void duplicatesWithOneKeyInOneBatchApplyOnceAndAllAnswerTheSameId(EtcdCluster etcd) throws Exception {
        FaultInterceptor faults = new FaultInterceptor();
        QuotaManager quota = manager(etcd.newClient(faults));
        QuotaManager other = manager(etcd.newClient());
        get(quota.prepareStoredAsync(account, Map.of("CPUA", 1L), key("warm", "w"))); // view, leases, claim pool
        long base = raw.used(account, "CPUA");

        // Hold the next transaction of the lane, so the duplicates queue behind it and go out in one batch.
        FaultInterceptor.Fault held = faults.hold(FaultInterceptor.KV_TXN, 1);
        CompletableFuture<StoredReservation> first = quota.prepareStoredAsync(account, Map.of("CPUA", 2L),
                key("dup", "r"));
        assertThat(held.awaitInjected(1, WAIT)).isTrue();
        List<CompletableFuture<StoredReservation>> answers = new ArrayList<>();
        answers.add(first);
        for (int i = 0; i < 5; i++) {
            answers.add(quota.prepareStoredAsync(account, Map.of("CPUA", 2L), key("dup", "r")));
        }
        CompletableFuture<StoredReservation> innocent = quota.prepareStoredAsync(account, Map.of("CPUA", 1L));
        answers.add(other.prepareStoredAsync(account, Map.of("CPUA", 2L), key("dup", "r")));
        held.release();

        Set<String> ids = new HashSet<>();
        for (CompletableFuture<StoredReservation> answer : answers) {
            ids.add(get(answer).id());
        }
        assertThat(get(innocent).id()).isNotNull();
        assertThat(ids).as("every duplicate answers the one reservation").hasSize(1);
        assertThat(raw.used(account, "CPUA")).as("applied once, plus the innocent one").isEqualTo(base + 2 + 1);
        assertThat(raw.under("/reservations/")).hasSize(3);
    }

    /** Many threads in two processes send one request with one key: one reservation, every answer its id. */
    @Test
    void concurrentDuplicatesFromTwoProcessesApplyOnce(EtcdCluster etcd) throws Exception {
        QuotaManager a = manager(etcd.newClient());
        QuotaManager b = manager(etcd.newClient());
        get(a.prepareStoredAsync(account, Map.of("CPUA", 1L)));
        long base = raw.used(account, "CPUA");
        int threads = 16;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<java.util.concurrent.Future<String>> ids = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                QuotaManager quota = i % 2 == 0 ? a : b;
                ids.add(pool.submit(() -> {
                    start.await();
                    return get(quota.prepareStoredAsync(account, Map.of("CPUA", 3L), key("k1", "same"))).id();
                }));
            }
            start.countDown();
            Set<String> seen = new HashSet<>();
            for (var id : ids) {
                seen.add(id.get(WAIT.toMillis(), TimeUnit.MILLISECONDS));
            }
            assertThat(seen).hasSize(1);
            assertThat(raw.used(account, "CPUA")).isEqualTo(base + 3);
            assertThat(raw.under("/reservations/")).hasSize(2);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The same key with another request: refused (422 over HTTP), nothing applied, the first stands. */
    @Test
    void aKeyReusedForAnotherRequestIsRefusedAndAppliesNothing(EtcdCluster etcd) throws Exception {
        QuotaManager quota = manager(etcd.newClient());
        StoredReservation made = get(quota.prepareStoredAsync(account, Map.of("CPUA", 2L), key("k", "one")));
        long used = raw.used(account, "CPUA");
        assertThatThrownBy(() -> get(quota.prepareStoredAsync(account, Map.of("CPUA", 5L), key("k", "two"))))
                .hasCauseInstanceOf(IdempotencyKeyReusedException.class);
        assertThatThrownBy(() -> get(quota.finishStoredAsync(made.id(), null, key("k", "three"))))
                .hasCauseInstanceOf(IdempotencyKeyReusedException.class);
        assertThat(raw.used(account, "CPUA")).isEqualTo(used);
        assertThat(raw.under("/reservations/")).hasSize(1);
        assertThat(get(quota.findStoredAsync(made.id()))).as("still open").isPresent();
    }

    /**
     * Two processes send the same finally with one key at once: one ends the reservation, and the other must answer
     * that first outcome (true), not "unknown or already ended".
     */
    @Test
    void duplicateEndsWithOneKeyBothAnswerTheFirstOutcome(EtcdCluster etcd) throws Exception {
        QuotaManager a = manager(etcd.newClient());
        QuotaManager b = manager(etcd.newClient());
        for (int round = 0; round < 10; round++) {
            StoredReservation made = get(a.prepareStoredAsync(account, Map.of("CPUA", 4L)));
            long used = raw.used(account, "CPUA");
            IdempotencyKey k = key("end-" + round, "finally-" + made.id());
            Map<String, Long> keep = Map.of("CPUA", 1L);
            CompletableFuture<Boolean> one = a.finishStoredAsync(made.id(), keep, k);
            CompletableFuture<Boolean> two = b.finishStoredAsync(made.id(), keep, k);
            assertThat(get(one)).as("round " + round + ", first").isTrue();
            assertThat(get(two)).as("round " + round + ", second").isTrue();
            assertThat(raw.used(account, "CPUA")).as("gave back 3 once").isEqualTo(used - 3);
        }
        assertThat(raw.under("/reservations/")).isEmpty();
    }

    /**
     * A batch in which one request's claim fails (its key was used for another request) still grants the others of
     * the batch; the refused one gets 422's exception.
     */
    @Test
    void aBatchWhereOneClaimFailsStillGrantsTheOthers(EtcdCluster etcd) throws Exception {
        FaultInterceptor faults = new FaultInterceptor();
        QuotaManager quota = manager(etcd.newClient(faults));
        get(quota.prepareStoredAsync(account, Map.of("CPUA", 1L), key("taken", "first")));
        long base = raw.used(account, "CPUA");

        FaultInterceptor.Fault held = faults.hold(FaultInterceptor.KV_TXN, 1);
        CompletableFuture<StoredReservation> lead = quota.prepareStoredAsync(account, Map.of("CPUA", 1L));
        assertThat(held.awaitInjected(1, WAIT)).isTrue();
        List<CompletableFuture<StoredReservation>> others = new ArrayList<>();
        others.add(quota.prepareStoredAsync(account, Map.of("CPUA", 1L), key("fresh-1", "x")));
        CompletableFuture<StoredReservation> reused = quota.prepareStoredAsync(account, Map.of("CPUA", 7L),
                key("taken", "second"));
        others.add(quota.prepareStoredAsync(account, Map.of("CPUA", 1L)));
        others.add(quota.prepareStoredAsync(account, Map.of("CPUA", 1L), key("fresh-2", "y")));
        held.release();

        get(lead);
        for (CompletableFuture<StoredReservation> other : others) {
            assertThat(get(other).id()).isNotNull();
        }
        assertThatThrownBy(() -> get(reused)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IdempotencyKeyReusedException.class);
        assertThat(raw.used(account, "CPUA")).isEqualTo(base + 4);
        assertThat(raw.under("/reservations/")).hasSize(5);
    }
}
