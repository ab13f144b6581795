package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.FaultInterceptor;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * When etcd does not answer a release in time, the release may still land. A release used to report that as
 * "unavailable", which invites a retry that gives back twice. It now tells the three cases apart: the answer was lost
 * but the write landed (read from the lock entry the write marks: success), the write never landed and never will
 * (its lock entry is removed first: {@link QuotaUnavailableException}), or it cannot be told
 * ({@link QuotaOutcomeUnknownException}).
 *
 * <p>The manager under test has a client of its own with a {@link FaultInterceptor}, and no health probe during the
 * test, so that its calls to etcd come in a known order: a release takes the read lock (lease grant, then the enqueue
 * transaction), reads the counters (a range), then writes them (a transaction).
 */
@WithEtcd
class QuotaOutcomeIT {
    private final String namespace = "/t-" + UUID.randomUUID();
    private final String account = "acct-" + UUID.randomUUID();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final FaultInterceptor faults = new FaultInterceptor();
    private QuotaManager quota;
    private RawEtcd raw;

    @BeforeEach
    void setUp(EtcdCluster etcd, Client client) {
        raw = new RawEtcd(client, namespace);
        quota = QuotaManager.builder(etcd.newClient(faults)).namespace(namespace)
                .resource("CPUA", new MutableHandler(10, 20))
                .operationTimeout(Duration.ofSeconds(4))
                .healthCheckInterval(Duration.ofHours(1))
                .build();
        closeables.add(quota);
        quota.refresh(account, true);
    }

    @AfterEach
    void tearDown() throws Exception {
        faults.reset();
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    @Test
    void aReleaseWhoseAnswerIsLostButWhichLandedSucceedsOnce() throws Exception {
        CompletableFuture<Void> clean = afterTheCounterRead(() -> faults.loseReply(FaultInterceptor.KV_TXN, 1),
                () -> quota.cleanUsedAsync(account, Map.of("CPUA", 3L)));

        clean.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(raw.used(account, "CPUA")).isEqualTo(7);
        Await.until("the release's read lock is gone", () -> raw.locks().isEmpty());
    }

    @Test
    void aReleaseThatCannotBeToldIsReportedAsOutcomeUnknown() {
        CompletableFuture<Void> rollback = afterTheCounterRead(() -> faults.loseReply(FaultInterceptor.KV_TXN, 2),
                () -> quota.rollbackAsync(account, Map.of("CPUA", 3L), Instant.now()));

        assertThatThrownBy(() -> QuotaManager.join(rollback)).isInstanceOf(QuotaOutcomeUnknownException.class);
        assertThat(raw.used(account, "CPUA")).as("it did land: a blind retry would give back twice").isEqualTo(7);
    }

    @Test
    void aReleaseWithdrawnBeforeItReachedEtcdIsNotAppliedAndNeverLands() throws Exception {
        FaultInterceptor.Fault[] held = new FaultInterceptor.Fault[1];
        CompletableFuture<Void> clean = afterTheCounterRead(() -> held[0] = faults.hold(FaultInterceptor.KV_TXN, 1),
                () -> quota.cleanUsedAsync(account, Map.of("CPUA", 3L)));

        assertThatThrownBy(() -> QuotaManager.join(clean)).isInstanceOf(QuotaUnavailableException.class)
                .isNotInstanceOf(QuotaOutcomeUnknownException.class);
        held[0].release(); // the write reaches etcd now, after its lock entry was removed: refused
        assertThat(held[0].awaitAnswered(1, TestTimeouts.step())).as("etcd answered the late write").isTrue();
        assertThat(raw.used(account, "CPUA")).as("not applied, then or later").isEqualTo(10);
        assertThat(raw.locks()).isEmpty();
    }

    /**
     * A reservation whose transaction landed but whose answer never came used to stall the account in that process:
     * every later reservation waited for the lost answer and failed, for good. It is now settled in etcd (found
     * landed, and undone) and the account goes on.
     */
    @Test
    void aReservationWhoseAnswerIsLostIsUndoneAndTheAccountGoesOn() throws Exception {
        quota.prepareOccupying(account, Map.of("CPUA", 1L)).close(); // the fast path knows the account now
        FaultInterceptor.Fault lost = faults.loseReply(FaultInterceptor.KV_TXN, 1);

        assertThatThrownBy(() -> quota.prepareOccupying(account, Map.of("CPUA", 2L)))
                .isInstanceOf(QuotaUnavailableException.class);
        assertThat(lost.injected()).isEqualTo(1);

        Await.until("the lost reservation undone", () -> raw.used(account, "CPUA") == 11 && raw.locks().isEmpty());
        try (Reservation next = quota.prepareOccupying(account, Map.of("CPUA", 3L))) {
            assertThat(raw.used(account, "CPUA")).isEqualTo(14);
        }
    }

    @Test
    void anInterruptedReleaseIsNotAppliedBeforeItWritesAndUnknownAfter() throws Exception {
        FaultInterceptor.Fault read = faults.hold(FaultInterceptor.KV_RANGE, 1);
        assertThat(interrupted(() -> quota.cleanUsed(account, Map.of("CPUA", 1L)), read))
                .as("interrupted before its write").isInstanceOf(QuotaUnavailableException.class)
                .isNotInstanceOf(QuotaOutcomeUnknownException.class);
        read.release();

        FaultInterceptor.Fault secondRead = faults.hold(FaultInterceptor.KV_RANGE, 1);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            try {
                quota.cleanUsed(account, Map.of("CPUA", 1L));
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        caller.start();
        assertThat(secondRead.awaitInjected(1, TestTimeouts.step())).isTrue();
        FaultInterceptor.Fault write = faults.hold(FaultInterceptor.KV_TXN, 1);
        secondRead.release();
        assertThat(write.awaitInjected(1, TestTimeouts.step())).as("the write is on its way").isTrue();
        caller.interrupt();
        caller.join(TestTimeouts.step().toMillis());
        assertThat(thrown.get()).as("interrupted after its write began")
                .isInstanceOf(QuotaOutcomeUnknownException.class);
        write.release();
    }

    /** Runs {@code call} on a thread, interrupts it once {@code held} holds one of its calls, returns what it threw. */
    private static Throwable interrupted(Runnable call, FaultInterceptor.Fault held) throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            try {
                call.run();
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        caller.start();
        assertThat(held.awaitInjected(1, TestTimeouts.step())).isTrue();
        caller.interrupt();
        caller.join(TestTimeouts.step().toMillis());
        return thrown.get();
    }

    /**
     * Starts {@code call} with the counter read held, arms {@code fault} once the read is held (so that it hits the
     * write that follows), and lets the read go.
     */
    private <T> CompletableFuture<T> afterTheCounterRead(Runnable fault,
                                                         java.util.function.Supplier<CompletableFuture<T>> call) {
        FaultInterceptor.Fault read = faults.hold(FaultInterceptor.KV_RANGE, 1);
        CompletableFuture<T> started = call.get();
        try {
            assertThat(read.awaitInjected(1, TestTimeouts.step())).as("the counter read held").isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        fault.run();
        read.release();
        return started;
    }
}
