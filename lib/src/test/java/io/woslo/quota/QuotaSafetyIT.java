package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.woslo.lock.LockInfo;
import io.woslo.lock.LockMode;
import io.woslo.lock.RwLocks;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.MutableClock;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Regression tests of the quota's safety promises, each named after a bug that broke one: counters fenced by their
 * lock, no false refusals, no hangs, nothing left behind by abandoned calls, no account made unavailable by a refresh.
 */
@WithEtcd
class QuotaSafetyIT extends QuotaItSupport {
    /**
     * A refresh whose handler answers after the refresh's write lock has ended must not write the handler's figure
     * over a reservation made meanwhile under a valid read lock: etcd refuses the write, fenced by the lock entry.
     */
    @Test
    void aSlowRefreshWhoseLockEndedDoesNotEraseAReservation(EtcdCluster etcd) throws Exception {
        GatedHandler slow = new GatedHandler(10, 20);
        QuotaManager refreshing = QuotaManager.builder(etcd.newClient()).namespace(namespace)
                .resource("CPUA", slow).lockLeaseTime(Duration.ofSeconds(2)).build();
        QuotaManager reserving = manager(etcd.newClient(), new MutableHandler(10, 20));
        closeables.add(refreshing);
        reserving.refresh(account, true);

        slow.gate();
        CompletableFuture<RefreshResult> refresh = refreshing.refreshAsync(account, true);
        slow.awaitCalled();
        Await.until("the refresh's write lock ended with its lease", () -> raw.locks().isEmpty());

        reserving.prepareOccupying(account, Map.of("CPUA", 3L)).close();
        assertThat(raw.used(account, "CPUA")).isEqualTo(13);
        slow.open(); // the busy database answers at last, with the figure from before the reservation

        assertThat(refresh).failsWithin(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)
                .withThrowableOfType(ExecutionException.class)
                .withCauseInstanceOf(QuotaUnavailableException.class);
        assertThat(raw.used(account, "CPUA")).as("the reservation made under a valid lock").isEqualTo(13);
    }

    /** A process that reserved and rolled back must not refuse the next reservation on what it saw before. */
    @Test
    void aRollbackIsNotFollowedByAFalseRefusal(Client client) {
        QuotaManager quota = manager(client, new MutableHandler(18, 20));
        quota.refresh(account, true);

        try (Reservation r = quota.prepareOccupying(account, Map.of("CPUA", 2L))) {
            r.rollback();
        }
        assertThat(raw.used(account, "CPUA")).isEqualTo(18);

        quota.prepareOccupying(account, Map.of("CPUA", 2L)).close();
        assertThat(raw.used(account, "CPUA")).isEqualTo(20);
    }

    /** Releases made by another process are not seen by this one's remembered view; a refusal must not rest on it. */
    @Test
    void aCleanUsedInAnotherProcessIsNotFollowedByAFalseRefusal(EtcdCluster etcd) {
        QuotaManager reserving = manager(etcd.newClient(), new MutableHandler(18, 20));
        QuotaManager cleaning = manager(etcd.newClient(), new MutableHandler(18, 20));
        reserving.refresh(account, true);
        reserving.prepareOccupying(account, Map.of("CPUA", 2L)).close();

        cleaning.cleanUsed(account, Map.of("CPUA", 2L));
        assertThat(raw.used(account, "CPUA")).isEqualTo(18);

        reserving.prepareOccupying(account, Map.of("CPUA", 2L)).close();
        assertThat(raw.used(account, "CPUA")).isEqualTo(20);
    }

    /** A remembered view older than the cache TTL used to be kept, so the account stayed on the slow path for good. */
    @Test
    void aViewOlderThanTheCacheTtlIsDroppedAndTheAccountReturnsToTheFastPath(Client client) {
        MutableClock clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.MILLIS));
        QuotaManager quota = QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", new MutableHandler(0, 100)).clock(clock).cacheTtl(Duration.ofMinutes(1)).build();
        closeables.add(quota);
        quota.refresh(account, true);
        quota.prepareOccupying(account, Map.of("CPUA", 1L)).close();

        clock.advance(Duration.ofMinutes(2));
        quota.prepareOccupying(account, Map.of("CPUA", 1L)).close(); // stale: refreshed on the slow path
        long slowBefore = quota.slowPathReservations();
        for (int i = 0; i < 5; i++) {
            quota.prepareOccupying(account, Map.of("CPUA", 1L)).close();
        }

        assertThat(quota.slowPathReservations() - slowBefore).as("reservations sent to the slow path after the"
                + " refresh").isZero();
        assertThat(raw.used(account, "CPUA")).isEqualTo(6);
    }

    /** A blocking reservation inside a continuation of an asynchronous one used to hang for good. */
    @Test
    void aBlockingCallInsideAnAsyncContinuationDoesNotHang(Client client) throws Exception {
        QuotaManager quota = manager(client, new MutableHandler(0, 1_000));
        quota.refresh(account, true);

        List<CompletableFuture<Long>> nested = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            nested.add(quota.prepareOccupyingAsync(account, Map.of("CPUA", 1L)).thenApply(outer -> {
                try (Reservation inner = quota.prepareOccupying(account, Map.of("CPUA", 1L))) {
                    outer.close();
                    return inner.amounts().get("CPUA");
                }
            }));
        }

        CompletableFuture.allOf(nested.toArray(CompletableFuture[]::new))
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(raw.used(account, "CPUA")).isEqualTo(16);
        Await.until("every read lock released", () -> raw.locks().isEmpty());
    }

    /**
     * A reservation waiting behind a refresh is interrupted; its reservation used to land anyway, holding its read
     * lock for the whole lease with its amounts counted. Whatever lands after the caller gave up is given back.
     */
    @Test
    void anInterruptedReservationGivesBackWhatLandsLater(EtcdCluster etcd) throws Exception {
        GatedHandler slow = new GatedHandler(10, 20);
        QuotaManager refreshing = manager(etcd.newClient(), slow);
        QuotaManager reserving = manager(etcd.newClient(), new MutableHandler(10, 20));
        reserving.refresh(account, true);

        slow.gate();
        CompletableFuture<RefreshResult> refresh = refreshing.refreshAsync(account, true);
        slow.awaitCalled(); // the refresh holds the write lock and waits for its handler

        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            try {
                reserving.prepareOccupying(account, Map.of("CPUA", 1L)).close();
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        caller.start();
        awaitLock(etcd, info -> info.mode() == LockMode.WRITE && info.waiting() == 1);
        caller.interrupt();
        caller.join(TestTimeouts.step().toMillis());
        assertThat(thrown.get()).isInstanceOf(QuotaException.class);

        slow.open();
        refresh.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        Await.until("the abandoned reservation given back and its lock released",
                () -> raw.locks().isEmpty() && raw.used(account, "CPUA") == 10);
    }

    /**
     * A refresh behind a reservation left open used to wait a whole lease (a minute), and every reservation queued
     * behind it failed as if etcd were down. It now gives up within the operation timeout as busy, and the
     * reservations behind it go on.
     */
    @Test
    void aRefreshBehindAnOpenReservationGivesUpAsBusyAndReservationsGoOn(EtcdCluster etcd) throws Exception {
        QuotaManager quota = QuotaManager.builder(etcd.newClient()).namespace(namespace)
                .resource("CPUA", new MutableHandler(0, 100)).operationTimeout(Duration.ofSeconds(4)).build();
        closeables.add(quota);
        quota.refresh(account, true);

        try (Reservation open = quota.prepareOccupying(account, Map.of("CPUA", 1L))) {
            CompletableFuture<RefreshResult> refresh = quota.refreshAsync(account, true);
            awaitLock(etcd, info -> info.mode() == LockMode.READ && info.waiting() == 1);
            CompletableFuture<Reservation> behind = quota.prepareOccupyingAsync(account, Map.of("CPUA", 1L));

            assertThat(refresh).failsWithin(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)
                    .withThrowableOfType(ExecutionException.class)
                    .withCauseInstanceOf(QuotaBusyException.class)
                    .withMessageContaining(account);
            behind.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).close();
        }
        assertThat(raw.used(account, "CPUA")).isEqualTo(2);
    }

    /** A counter older than the TTL used to send the reservation to wait for a refresh behind open reservations. */
    @Test
    void aStaleCounterDoesNotMakeAReservationWaitForARefresh(Client client) throws Exception {
        MutableClock clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.MILLIS));
        MutableHandler cpu = new MutableHandler(0, 100);
        QuotaManager quota = QuotaManager.builder(client).namespace(namespace).resource("CPUA", cpu)
                .clock(clock).cacheTtl(Duration.ofMinutes(1)).operationTimeout(Duration.ofSeconds(30)).build();
        closeables.add(quota);
        quota.refresh(account, true);

        try (Reservation open = quota.prepareOccupying(account, Map.of("CPUA", 1L))) {
            clock.advance(Duration.ofMinutes(2));
            long started = System.nanoTime();
            quota.prepareOccupying(account, Map.of("CPUA", 1L)).close();
            assertThat(Duration.ofNanos(System.nanoTime() - started)).as("well inside the 15 s lock wait")
                    .isLessThan(Duration.ofSeconds(10));
        }
        assertThat(raw.used(account, "CPUA")).isEqualTo(2);
    }

    /** Any id starting with "noop-" used to end "successfully" (204 for an id never issued). */
    @Test
    void aNoopIdThatWasNeverIssuedDoesNotEnd(Client client) throws Exception {
        QuotaManager quota = QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", new MutableHandler(0, 1)).quotaEnabled(a -> false).build();
        closeables.add(quota);

        StoredReservation issued = quota.prepareStoredAsync(account, Map.of("CPUA", 1L)).get(10, TimeUnit.SECONDS);
        assertThat(quota.finishStoredAsync(issued.id()).get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(quota.finishStoredAsync("noop-made-up").get(10, TimeUnit.SECONDS)).isFalse();
        assertThat(quota.rollbackStoredAsync("noop-" + UUID.randomUUID()).get(10, TimeUnit.SECONDS)).isFalse();
    }

    /**
     * A refresh that never won its enqueue (what it read had changed by the time its enqueue reached etcd) used to
     * fail with the lock engine's internal exception. Here every transaction of the refreshing client is preceded by
     * a change of the key its enqueue compares.
     */
    @Test
    void aStarvedRefreshFailsAsBusyNotWithAnInternalException(EtcdCluster etcd, Client client) throws Exception {
        // A writer queues with a compare on the account's index key: change that key before each transaction.
        ByteSequence index = ByteSequence.from(namespace + "/accounts/" + account, StandardCharsets.UTF_8);
        AtomicBoolean starve = new AtomicBoolean();
        Client starved = Client.builder().endpoints(etcd.endpoints().toArray(java.net.URI[]::new))
                .interceptor(new BeforeEachTxn(() -> {
                    if (starve.get()) {
                        ByteSequence value = client.getKVClient().get(index).join().getKvs().get(0).getValue();
                        client.getKVClient().put(index, value).join();
                    }
                }))
                .build();
        closeables.add(starved);
        QuotaManager quota = QuotaManager.builder(starved).namespace(namespace)
                .resource("CPUA", new MutableHandler(0, 100)).operationTimeout(Duration.ofSeconds(4)).build();
        closeables.add(quota);
        quota.refresh(account, true);

        starve.set(true);
        assertThatThrownBy(() -> quota.refresh(account, true)).isInstanceOf(QuotaBusyException.class)
                .hasMessageContaining(account);
        starve.set(false);
        assertThat(raw.locks()).isEmpty();
        assertThat(quota.refresh(account, true).refreshed()).containsExactly("CPUA");
    }

    /** Runs a hook on the calling thread just before each KV transaction of a client is sent. */
    private static final class BeforeEachTxn implements io.grpc.ClientInterceptor {
        private final Runnable hook;

        BeforeEachTxn(Runnable hook) {
            this.hook = hook;
        }

        @Override
        public <Q, R> io.grpc.ClientCall<Q, R> interceptCall(io.grpc.MethodDescriptor<Q, R> method,
                                                             io.grpc.CallOptions options, io.grpc.Channel next) {
            io.grpc.ClientCall<Q, R> call = next.newCall(method, options);
            if (!method.getFullMethodName().endsWith("KV/Txn")) {
                return call;
            }
            return new io.grpc.ForwardingClientCall.SimpleForwardingClientCall<>(call) {
                @Override
                public void sendMessage(Q message) {
                    hook.run();
                    super.sendMessage(message);
                }
            };
        }
    }

    private void awaitLock(EtcdCluster etcd, java.util.function.Predicate<LockInfo> state) {
        RwLocks locks = RwLocks.builder(etcd.newClient()).namespace(namespace).build();
        closeables.add(locks);
        Await.until("the account lock in the expected state", () -> state.test(locks.inspect("quota/" + account)));
    }
}
