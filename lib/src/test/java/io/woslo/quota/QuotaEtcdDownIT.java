package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The only etcd member stops: calls end within a bound (failure mode CLOSED refuses, OPEN lets reservations pass
 * unchecked), and once the member is back the same managers work again without being rebuilt.
 */
@WithEtcd
class QuotaEtcdDownIT {
    private static final Map<String, Long> ONE_CPU = Map.of("CPUA", 1L);

    private final String namespace = "/t-" + UUID.randomUUID();
    private final String account = "acct-" + UUID.randomUUID();
    private QuotaManager quota;
    private EtcdCluster etcd;

    @AfterEach
    void tearDown() {
        if (quota != null) {
            quota.close();
        }
        if (!etcd.member(0).isRunning()) {
            etcd.member(0).restart();
        }
    }

    @Test
    void closedModeRefusesWithinTheBoundWhileEtcdIsDownAndRecoversWithoutARebuild(EtcdCluster etcd) throws Exception {
        quota = manager(etcd, FailureMode.CLOSED);
        quota.refresh(account, true);
        quota.prepareOccupying(account, ONE_CPU).close();

        etcd.member(0).stop();

        CompletableFuture<Reservation> reserve = quota.prepareOccupyingAsync(account, ONE_CPU);
        CompletableFuture<Void> clean = quota.cleanUsedAsync(account, ONE_CPU);
        CompletableFuture<RefreshResult> refresh = quota.refreshAsync(account, true);
        assertUnavailable(() -> reserve);
        assertUnavailable(() -> clean);
        assertUnavailable(() -> refresh);
        Await.until("the health probe notices etcd is down", () -> !quota.isEtcdHealthy());
        assertUnavailable(() -> quota.prepareOccupyingAsync(account, ONE_CPU));

        etcd.member(0).restart();
        Await.until("the health probe notices etcd is back", () -> quota.isEtcdHealthy());
        Reservation reservation = reserveOnceEtcdAnswers();

        assertThat(reservation.amounts()).isEqualTo(ONE_CPU);
        reservation.close();
        assertThat(new RawEtcd(etcd.newClient(), namespace).used(account, "CPUA"))
                .as("10 from the handler, 1 before the outage, 1 after; nothing from the refused calls")
                .isEqualTo(12);
    }

    @Test
    void openModeLetsReservationsPassUncheckedWhileEtcdIsDownAndChecksAgainAfter(EtcdCluster etcd) throws Exception {
        quota = manager(etcd, FailureMode.OPEN);
        quota.refresh(account, true);

        etcd.member(0).stop();

        Reservation unchecked = quota.prepareOccupyingAsync(account, ONE_CPU)
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(unchecked.amounts()).as("a no-op reservation").isEmpty();
        unchecked.rollback();
        unchecked.close();
        Await.until("the health probe notices etcd is down", () -> !quota.isEtcdHealthy());
        assertThat(quota.prepareOccupyingAsync(account, ONE_CPU)
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).amounts()).isEmpty();

        etcd.member(0).restart();
        Await.until("the health probe notices etcd is back", () -> quota.isEtcdHealthy());
        Reservation checked = reserveOnceEtcdAnswers();

        assertThat(checked.amounts()).isEqualTo(ONE_CPU);
        checked.close();
        assertThat(new RawEtcd(etcd.newClient(), namespace).used(account, "CPUA")).isEqualTo(11);
    }

    /** The over-quota scan used to share one thread with the health probe: a long scan kept etcd "healthy" for good. */
    @Test
    void aLongOverQuotaScanDoesNotStarveTheHealthProbe(EtcdCluster etcd) throws Exception {
        this.etcd = etcd;
        GatedHandler slow = new GatedHandler(10, 20);
        slow.gate();
        quota = QuotaManager.builder(etcd.newClient()).namespace(namespace)
                .resource("CPUA", slow)
                .operationTimeout(Duration.ofSeconds(30))
                .healthCheckInterval(Duration.ofMillis(200))
                .overQuotaScanInterval(Duration.ofMillis(100))
                .build();
        AtomicInteger listed = new AtomicInteger();
        try {
            // The initial load lists nothing; the scans list the account, whose handler blocks.
            quota.initResourceQuotaData(() -> listed.getAndIncrement() == 0 ? List.of() : List.of(account))
                    .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
            slow.awaitCalled();

            etcd.member(0).stop();
            Await.until("the health probe notices etcd is down while a scan is running", () -> !quota.isEtcdHealthy());
        } finally {
            slow.open();
        }
    }

    private QuotaManager manager(EtcdCluster etcd, FailureMode mode) {
        this.etcd = etcd;
        Client client = etcd.newClient();
        return QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", new FixedHandler(10, 20))
                .operationTimeout(Duration.ofSeconds(2))
                .healthCheckInterval(Duration.ofMillis(200))
                .failureMode(mode)
                .build();
    }

    /** The call's future fails with {@link QuotaUnavailableException} within the step bound, never hangs. */
    private static void assertUnavailable(Supplier<CompletableFuture<?>> call) {
        CompletableFuture<?> future = call.get();
        assertThatThrownBy(() -> future.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(QuotaUnavailableException.class);
    }

    /** Right after a restart the client may still be reconnecting: retry, within the step bound, until etcd answers. */
    private Reservation reserveOnceEtcdAnswers() {
        Reservation[] made = {null};
        Await.until("reservations work again", () -> {
            try {
                Reservation r = quota.prepareOccupying(account, ONE_CPU);
                made[0] = r;
                return !r.amounts().isEmpty();
            } catch (QuotaUnavailableException e) {
                return false;
            }
        });
        return made[0];
    }
}
