package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcd.jetcd.Client;
import io.woslo.lock.LockInfo;
import io.woslo.lock.LockMode;
import io.woslo.lock.RwLocks;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.MutableClock;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Refreshes re-sync counters from the handlers: they wait for reservations in flight instead of erasing them, and
 * reservations re-read counters that are missing or older than the cache TTL.
 */
@WithEtcd
class QuotaRefreshIT extends QuotaItSupport {
    @Test
    void aRefreshWaitsForTheOpenReservationAndKeepsTheWorkItCommitted(EtcdCluster etcd) throws Exception {
        MutableHandler cpu = new MutableHandler(10, 20);
        QuotaManager reserving = manager(etcd.newClient(), cpu);
        QuotaManager refreshing = manager(etcd.newClient(), cpu);
        reserving.refresh(account, true);

        Reservation reservation = reserving.prepareOccupying(account, Map.of("CPUA", 2L));
        CompletableFuture<RefreshResult> refresh = refreshing.refreshAsync(account, true);
        awaitWriterQueuedBehindReader(etcd);

        assertThat(refresh).as("refresh while the reservation is open").isNotDone();
        assertThat(raw.used(account, "CPUA")).isEqualTo(12);
        cpu.used.set(12); // the service records its work before it closes the reservation
        reservation.close();

        RefreshResult result = refresh.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(result.refreshed()).containsExactly("CPUA");
        assertThat(raw.used(account, "CPUA")).isEqualTo(12);
    }

    @Test
    void aRefreshWaitsForTheOpenReservationAndSeesItsRollback(EtcdCluster etcd) throws Exception {
        MutableHandler cpu = new MutableHandler(10, 20);
        QuotaManager reserving = manager(etcd.newClient(), cpu);
        QuotaManager refreshing = manager(etcd.newClient(), cpu);
        reserving.refresh(account, true);

        Reservation reservation = reserving.prepareOccupying(account, Map.of("CPUA", 2L));
        CompletableFuture<RefreshResult> refresh = refreshing.refreshAsync(account, true);
        awaitWriterQueuedBehindReader(etcd);

        // The rollback runs under the reservation's own read lock: it must not queue behind the waiting writer.
        reservation.rollback();
        assertThat(raw.used(account, "CPUA")).isEqualTo(10);
        assertThat(refresh).as("refresh while the rolled-back reservation is still open").isNotDone();
        reservation.close();

        RefreshResult result = refresh.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(result.refreshed()).containsExactly("CPUA");
        assertThat(raw.used(account, "CPUA")).isEqualTo(10);
    }

    @Test
    void aMissingCounterIsCreatedFromTheHandlersOnTheFirstReservation(Client client) {
        MutableClock clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.MILLIS));
        QuotaManager quota = manager(client, new MutableHandler(3, 20), clock, Duration.ofMinutes(1));
        assertThat(raw.counter(account, "CPUA")).isEmpty();

        try (Reservation r = quota.prepareOccupying(account, Map.of("CPUA", 1L))) {
            assertThat(r.amounts()).isEqualTo(Map.of("CPUA", 1L));
        }

        JsonNode counter = raw.counter(account, "CPUA").orElseThrow();
        assertThat(counter.path("used").asLong()).isEqualTo(4);
        assertThat(counter.path("quota").asLong()).isEqualTo(20);
        assertThat(counter.path("refreshedAt").asLong()).isEqualTo(clock.millis());
        assertThat(raw.value(namespace + "/accounts/" + account)).hasValueSatisfying(
                index -> assertThat(index.path("refreshedAt").asLong()).isEqualTo(clock.millis()));
    }

    @Test
    void aCounterOlderThanTheCacheTtlIsReloadedFromTheHandlersBeforeTheReservation(Client client) {
        MutableClock clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.MILLIS));
        MutableHandler cpu = new MutableHandler(3, 20);
        QuotaManager quota = manager(client, cpu, clock, Duration.ofMinutes(1));
        quota.refresh(account, true);
        long firstRefresh = clock.millis();
        cpu.used.set(7); // the system of record moved on without this manager

        clock.advance(Duration.ofSeconds(59));
        quota.prepareOccupying(account, Map.of("CPUA", 1L)).close();
        assertThat(raw.used(account, "CPUA")).as("younger than the TTL: the cached 3, plus 1").isEqualTo(4);
        assertThat(raw.counter(account, "CPUA").orElseThrow().path("refreshedAt").asLong()).isEqualTo(firstRefresh);

        clock.advance(Duration.ofSeconds(2));
        quota.prepareOccupying(account, Map.of("CPUA", 1L)).close();
        assertThat(raw.used(account, "CPUA")).as("older than the TTL: the handler's 7, plus 1").isEqualTo(8);
        assertThat(raw.counter(account, "CPUA").orElseThrow().path("refreshedAt").asLong()).isEqualTo(clock.millis());
    }

    @Test
    void aStaleCounterThatLooksFreeDoesNotLetAFullAccountReserve(Client client) {
        MutableClock clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.MILLIS));
        MutableHandler cpu = new MutableHandler(0, 20);
        QuotaManager quota = manager(client, cpu, clock, Duration.ofMinutes(1));
        quota.refresh(account, true);
        cpu.used.set(20);

        clock.advance(Duration.ofMinutes(2));
        assertThatThrownBy(() -> quota.prepareOccupying(account, Map.of("CPUA", 1L)))
                .isInstanceOfSatisfying(QuotaExceededException.class, e -> {
                    assertThat(e.used()).isEqualTo(20);
                    assertThat(e.quota()).isEqualTo(20);
                });
        assertThat(raw.used(account, "CPUA")).isEqualTo(20);
    }

    /** Waits until the refresh's write lock is queued behind the reservation's read lock, as etcd shows it. */
    private void awaitWriterQueuedBehindReader(EtcdCluster etcd) {
        RwLocks locks = RwLocks.builder(etcd.newClient()).namespace(namespace).build();
        closeables.add(locks);
        Await.until("the refresh's write lock queued behind the reservation", () -> {
            LockInfo info = locks.inspect("quota/" + account);
            return info.mode() == LockMode.READ && info.waiting() == 1;
        });
    }

    /**
     * Regression: a reservation of a resource whose counter did not exist yet, made while another reservation of the
     * account was open, used to wait for the write lock behind it (over HTTP: 503, not 409). A missing counter is now
     * created from its handler under the reservation's own read lock.
     */
    @Test
    void aMissingCounterIsCreatedWithoutWaitingForAnOpenReservation(EtcdCluster etcd) throws Exception {
        QuotaManager quota = QuotaManager.builder(etcd.newClient()).namespace(namespace)
                .resource("CPUA", new FixedHandler(10, 20))
                .resource("CPUC", new FixedHandler(18, 20))
                .build();
        closeables.add(quota);

        try (Reservation open = quota.prepareOccupying(account, Map.of("CPUA", 1L))) {
            assertThat(raw.counter(account, "CPUC")).as("not created by a reservation of CPUA").isEmpty();
            CompletableFuture<Reservation> second = quota.prepareOccupyingAsync(account, Map.of("CPUC", 3L));

            assertThat(second).failsWithin(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)
                    .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                    .withCauseInstanceOf(QuotaExceededException.class);
            quota.prepareOccupying(account, Map.of("CPUC", 2L)).close();
            assertThat(raw.used(account, "CPUC")).as("created from the handler's 18, plus 2").isEqualTo(20);
        }
    }

    private QuotaManager manager(Client client, MutableHandler cpu, MutableClock clock, Duration cacheTtl) {
        QuotaManager quota = QuotaManager.builder(client).namespace(namespace).resource("CPUA", cpu)
                .clock(clock).cacheTtl(cacheTtl).build();
        closeables.add(quota);
        return quota;
    }
}
