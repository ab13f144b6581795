package io.woslo.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.quota.QuotaException;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.QuotaUnavailableException;
import io.woslo.quota.Reservation;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.SwitchableHandler;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A source of truth slower than the lock lease: the refresh's write lock ends with its lease while the handler is
 * still reading, a reservation goes through meanwhile, and the refresh's late write must not erase it (it is fenced
 * by a lock entry that is gone). The refresh itself must end within its operation timeout, not hang.
 */
@WithEtcd(members = 1)
class SlowSourceOfTruthIT {
    private static final Duration LEASE = Duration.ofSeconds(2);
    private static final Duration TIMEOUT = Duration.ofSeconds(3);
    private static final Duration SLOWNESS = Duration.ofSeconds(5);

    private static final String NAMESPACE = "/slow-truth-" + UUID.randomUUID();

    @Test
    void aRefreshWhoseHandlerOutlivesTheLockLeaseNeitherErasesAReservationNorHangs(EtcdCluster etcd)
            throws Exception {
        String account = "slow";
        AtomicLong truth = new AtomicLong(5);
        CountDownLatch handlerReading = new CountDownLatch(1);
        SwitchableHandler handler = new SwitchableHandler("CPU", a -> truth.get(), a -> 40,
                (resource, a, at, used) -> handlerReading.countDown());
        RawEtcd raw = new RawEtcd(etcd.newClient(), NAMESPACE);
        try (QuotaManager refresher = manager(etcd, handler);
             QuotaManager reserver = manager(etcd, handler)) {
            refresher.refresh(account, true);
            handler.slow(SLOWNESS, false);

            long started = System.nanoTime();
            CompletableFuture<?> refresh = refresher.refreshAsync(account, true);
            assertThat(handlerReading.await(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
            // The reservation waits for the refresh's write lock, which ends with its lease (the handler is slow).
            List<RuntimeException> foreign = new ArrayList<>(); // outside the QuotaException family: a bug
            Faults.Timed<Reservation> reserved = Faults.eventually("a reservation once the write lock's lease ended",
                    LEASE.plus(Faults.LEASE_EXPIRY_MARGIN).plus(TIMEOUT), () -> {
                        try {
                            return reserver.prepareOccupying(account, Map.of("CPU", 2L));
                        } catch (QuotaException e) {
                            throw e;
                        } catch (RuntimeException e) {
                            foreign.add(e);
                            throw new QuotaUnavailableException("retry after " + e, e);
                        }
                    });
            truth.addAndGet(2);
            reserved.value().close();

            Throwable outcome = refresh.handle((r, e) -> e).get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            Faults.log("the slow refresh ended after " + took.toMillis() + " ms with " + outcome);
            handler.normal();

            assertThat(raw.used(account, "CPU")).as("the reservation made while the slow refresh ran is counted")
                    .isEqualTo(7);
            assertThat(took).as("the refresh ends within its operation timeout (plus slack)")
                    .isLessThanOrEqualTo(TIMEOUT.plus(RandomizedRun.SLACK));
            Throwable cause = outcome instanceof java.util.concurrent.CompletionException
                    ? outcome.getCause() : outcome;
            assertThat(cause == null || cause instanceof QuotaException)
                    .as("the refresh ends well or with a QuotaException, not %s", cause).isTrue();
            assertThat(foreign).as("exceptions outside the QuotaException family").isEmpty();
        }
    }

    private static QuotaManager manager(EtcdCluster etcd, SwitchableHandler handler) {
        return QuotaManager.builder(etcd.newClient()).namespace(NAMESPACE).lockLeaseTime(LEASE)
                .operationTimeout(TIMEOUT).healthCheckInterval(Duration.ofMillis(200)).cacheTtl(Duration.ofHours(1))
                .resource("CPU", handler).build();
    }
}
