package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.woslo.lock.RwLocks;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.FaultInterceptor;
import io.woslo.testing.MutableClock;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Regression tests found by an adversarial review of the quota's safety changes: a writer overtaken through a counter
 * created after it read the account, and reservations and rollbacks whose answers (and their settlements' answers)
 * are lost. Each failed on the code before its fix. {@link LoseTxnReplies} drops the answer of a transaction chosen
 * by what it does, not by its place in the call order.
 */
@WithEtcd
class QuotaLostAnswerIT extends QuotaItSupport {
    /**
     * The fast path relies on every queued writer having touched every counter it could compare. A counter created
     * without the write lock (here by a reservation's refresh-if-free, in the window between a refresh's read of the
     * counters and its enqueue) is not touched by that refresh, so a fast-path reservation whose view was read in
     * that window commits behind the queued writer. The refresh then overwrites the counter while the reservation
     * is open, erasing its amount.
     */
    @Test
    void aCounterCreatedBetweenARefreshsReadAndItsEnqueueLetsAFastReservationOvertakeTheRefresh(EtcdCluster etcd)
            throws Exception {
        MutableHandler gpu = new MutableHandler(0, 2); // the system of record, shared by every process
        FaultInterceptor refresherFaults = new FaultInterceptor();
        QuotaManager refresher = QuotaManager.builder(etcd.newClient(refresherFaults)).namespace(namespace)
                .resource("GPU", gpu).healthCheckInterval(Duration.ofHours(1))
                .operationTimeout(Duration.ofSeconds(30)).build();
        QuotaManager first = gpuManager(etcd.newClient(), gpu);
        FaultInterceptor fastFaults = new FaultInterceptor();
        QuotaManager fast = QuotaManager.builder(etcd.newClient(fastFaults)).namespace(namespace)
                .resource("GPU", gpu).healthCheckInterval(Duration.ofHours(1)).build();
        closeables.add(refresher);
        closeables.add(fast);

        // A refresh of the brand-new account reads no counters; its enqueue (its first transaction) is held.
        FaultInterceptor.Fault enqueue = refresherFaults.hold(FaultInterceptor.KV_TXN, 1);
        CompletableFuture<RefreshResult> refresh = refresher.refreshAsync(account, true);
        assertThat(enqueue.awaitInjected(1, TestTimeouts.step())).isTrue();

        // Meanwhile another process reserves: the counter is missing, so it is created (write lock free at once).
        Reservation open = first.prepareOccupying(account, Map.of("GPU", 1L));
        assertThat(raw.used(account, "GPU")).isEqualTo(1);

        // A third process reads its fast-path view (first transaction); its commit (second) is held.
        fastFaults.delayReply(FaultInterceptor.KV_TXN, Duration.ZERO, 1);
        FaultInterceptor.Fault commit = fastFaults.hold(FaultInterceptor.KV_TXN, 1);
        CompletableFuture<Reservation> overtaking = fast.prepareOccupyingAsync(account, Map.of("GPU", 1L));
        assertThat(commit.awaitInjected(1, TestTimeouts.step())).isTrue();

        // The refresh queues (behind the open reservation), then the fast commit reaches etcd.
        enqueue.release();
        assertThat(enqueue.awaitAnswered(1, TestTimeouts.step())).isTrue();
        commit.release();
        assertThat(commit.awaitAnswered(1, TestTimeouts.step())).isTrue();

        gpu.used.set(1); // the first reservation's work is done and recorded
        open.close();
        // Either the fast reservation got in before the refresh queued (the refresh then waits for it), or it waits
        // behind the refresh (and reserves on the refreshed counter). Either way, while it is open, it is counted.
        try (Reservation late = overtaking.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
             RwLocks locks = RwLocks.builder(etcd.newClient()).namespace(namespace).build()) {
            if (!refresh.isDone()) {
                assertThat(locks.inspect("quota/" + account).mode())
                        .as("no writer queued ahead of the open reservation").isEqualTo(io.woslo.lock.LockMode.READ);
            }
            assertThat(raw.used(account, "GPU"))
                    .as("1 recorded by the source plus 1 of the reservation still open: the refresh must not have run"
                            + " while it was open (or must not have erased it)")
                    .isEqualTo(2);
        }
        refresh.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * README: "A reservation never ends 'unknown'". A slow-path reservation whose fenced write landed but whose
     * answer was lost, and whose settlement's answer was lost too, is reported as QuotaOutcomeUnknownException, its
     * lock is released, and the amount it added stays on the counter for good: nobody gives it back.
     */
    @Test
    void aSlowPathReservationWhoseWriteAndSettlementAnswersAreLostIsNotLeftOnTheCounter(EtcdCluster etcd,
                                                                                        Client client) {
        MutableClock clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.MILLIS));
        LoseTxnReplies lose = new LoseTxnReplies();
        QuotaManager quota = QuotaManager.builder(etcd.newClient(lose)).namespace(namespace)
                .resource("CPUA", new MutableHandler(0, 10)).clock(clock).cacheTtl(Duration.ofMinutes(1))
                .operationTimeout(Duration.ofSeconds(4)).healthCheckInterval(Duration.ofHours(1)).build();
        closeables.add(quota);
        quota.refresh(account, true);
        clock.advance(Duration.ofMinutes(2)); // stale: the fast path hands the reservation to the slow path

        AtomicInteger writes = lose.arm(t -> fencedUnderReadLock(t) && putsCounter(t), 1);
        AtomicInteger settlements = lose.arm(QuotaLostAnswerIT::comparesAValue, Integer.MAX_VALUE); // until disarmed
        Throwable thrown = null;
        try {
            quota.prepareOccupying(account, Map.of("CPUA", 1L)).close();
        } catch (QuotaException e) {
            thrown = e;
        }
        assertThat(writes.get()).as("the reservation's fenced write was sent and its answer lost").isEqualTo(1);
        assertThat(settlements.get()).as("its settlement was sent and its answer lost").isGreaterThanOrEqualTo(1);
        assertThat(thrown).as("the reservation failed").isNotNull();
        assertThat(raw.used(account, "CPUA")).as("the write did land").isEqualTo(1);
        lose.disarm(); // etcd's answers come through again

        Await.until("the landed reservation given back (thrown: " + thrown + ")",
                () -> raw.used(account, "CPUA") == 0 && raw.locks().isEmpty());
        assertThat(thrown).isNotInstanceOf(QuotaOutcomeUnknownException.class);
    }

    /**
     * A fast-path commit that landed but whose answer was lost is settled by {@code withdraw}, which takes an
     * absent lock entry as proof that the commit never landed. But the entry also disappears when its lease ends,
     * which happens whenever the settlement runs later than the lock lease time (here a short lease; with the
     * defaults, a client cut off from etcd for over a minute while the settlement retries). The landed reservation
     * is then "withdrawn": its caller was told nothing was applied, yet its amount stays on the counter.
     */
    @Test
    void aLostFastPathCommitWhoseEntryLeaseEndedBeforeTheSettlementIsStillGivenBack(EtcdCluster etcd) {
        FaultInterceptor faults = new FaultInterceptor();
        QuotaManager quota = QuotaManager.builder(etcd.newClient(faults)).namespace(namespace)
                .resource("CPUA", new MutableHandler(0, 10)).lockLeaseTime(Duration.ofSeconds(2))
                .operationTimeout(Duration.ofSeconds(3)).healthCheckInterval(Duration.ofHours(1)).build();
        closeables.add(quota);
        quota.refresh(account, true);
        Await.until("the refresh's lock released", () -> raw.locks().isEmpty());

        faults.delayReply(FaultInterceptor.KV_TXN, Duration.ZERO, 1); // the fast path's read of the view
        FaultInterceptor.Fault lost = faults.loseReply(FaultInterceptor.KV_TXN, 1); // its commit
        Throwable thrown = null;
        try {
            quota.prepareOccupying(account, Map.of("CPUA", 1L)).close();
        } catch (QuotaException e) {
            thrown = e;
        }
        assertThat(lost.injected()).as("the commit's answer was lost").isEqualTo(1);
        assertThat(thrown).isInstanceOf(QuotaUnavailableException.class)
                .isNotInstanceOf(QuotaOutcomeUnknownException.class); // "not applied"
        assertThat(raw.used(account, "CPUA")).as("the commit did land").isEqualTo(1);

        Await.until("the landed reservation that was reported as not applied given back",
                TestTimeouts.scaled(Duration.ofSeconds(30)), () -> raw.used(account, "CPUA") == 0);
    }

    /**
     * rollbackStoredAsync deletes the reservation's record first and gives the amounts back second. When the give-back
     * is withdrawn (its answer did not come; the settlement removed its fence so it never lands), the caller is told
     * "not applied" (QuotaUnavailableException: a retry is safe) — but the record is already gone, so the retry
     * answers false and the amounts are never given back.
     */
    @Test
    void aStoredRollbackReportedAsNotAppliedCanBeRetriedAndGivesTheAmountsBack(EtcdCluster etcd, Client client)
            throws Exception {
        QuotaManager reserving = QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", new MutableHandler(0, 10)).build();
        closeables.add(reserving);
        FaultInterceptor faults = new FaultInterceptor();
        QuotaManager ending = QuotaManager.builder(etcd.newClient(faults)).namespace(namespace)
                .resource("CPUA", new MutableHandler(0, 10)).operationTimeout(Duration.ofSeconds(4))
                .healthCheckInterval(Duration.ofHours(1)).build();
        closeables.add(ending);
        reserving.refresh(account, true);
        StoredReservation stored = reserving.prepareStoredAsync(account, Map.of("CPUA", 3L))
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(raw.used(account, "CPUA")).isEqualTo(3);

        // The rollback's first transaction is held: the give-back (with the record's delete, in one transaction
        // since the fix; before it, the record's delete went first and this held the give-back after it).
        FaultInterceptor.Fault giveBack = faults.hold(FaultInterceptor.KV_TXN, 1);
        CompletableFuture<Boolean> first = ending.rollbackStoredAsync(stored.id());
        Throwable thrown = null;
        try {
            first.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            thrown = e.getCause();
        }
        assertThat(giveBack.injected()).isEqualTo(1);
        giveBack.release();
        assertThat(giveBack.awaitAnswered(1, TestTimeouts.step())).isTrue();
        assertThat(thrown).as("told 'not applied': a retry is safe").isInstanceOf(QuotaUnavailableException.class)
                .isNotInstanceOf(QuotaOutcomeUnknownException.class);
        assertThat(raw.used(account, "CPUA")).as("the held give-back never landed").isEqualTo(3);

        boolean retried = ending.rollbackStoredAsync(stored.id())
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(raw.used(account, "CPUA")).as("given back by the retry (retry answered " + retried + ")")
                .isZero();
    }

    // -----------------------------------------------------------------------------------------------------------

    /** A counter write fenced by a read-lock entry (a reservation or a release): a create-revision compare on it. */
    private static boolean fencedUnderReadLock(TxnRequest txn) {
        return txn.getCompareList().stream().anyMatch(c -> c.getTarget() == Compare.CompareTarget.CREATE
                && c.getCreateRevision() != 0 && c.getKey().toStringUtf8().contains("/locks/")
                && c.getKey().toStringUtf8().contains("/r-"));
    }

    private boolean putsCounter(TxnRequest txn) {
        return txn.getSuccessList().stream().anyMatch(op -> op.hasRequestPut()
                && op.getRequestPut().getKey().toStringUtf8().startsWith(namespace + "/quota/"));
    }

    /** The settlement of a fenced write: it compares the lock entry's value with the write's mark. */
    private static boolean comparesAValue(TxnRequest txn) {
        return txn.getCompareList().stream().anyMatch(c -> c.getTarget() == Compare.CompareTarget.VALUE);
    }

    private QuotaManager gpuManager(Client client, UsedQuotaHandler handler) {
        return closeLater(QuotaManager.builder(client).namespace(namespace).resource("GPU", handler).build());
    }

    /**
     * Sends the KV transactions that match an armed predicate and drops their answers (etcd applies them; the caller
     * never hears back): a lost reply chosen by what the transaction does rather than by its position.
     */
    private static final class LoseTxnReplies implements ClientInterceptor {
        private record Armed(Predicate<TxnRequest> match, AtomicInteger shots, AtomicInteger fired) {
        }

        private final List<Armed> armed = new java.util.concurrent.CopyOnWriteArrayList<>();

        void disarm() {
            armed.forEach(a -> a.shots().set(0));
        }

        AtomicInteger arm(Predicate<TxnRequest> match, int times) {
            AtomicInteger fired = new AtomicInteger();
            armed.add(new Armed(match, new AtomicInteger(times), fired));
            return fired;
        }

        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
            ClientCall<Q, R> call = next.newCall(method, options);
            if (!method.getFullMethodName().equals(FaultInterceptor.KV_TXN)) {
                return call;
            }
            AtomicBoolean drop = new AtomicBoolean();
            return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
                @Override
                public void start(Listener<R> listener, Metadata headers) {
                    super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                        @Override
                        public void onMessage(R message) {
                            if (!drop.get()) {
                                super.onMessage(message);
                            }
                        }

                        @Override
                        public void onClose(Status status, Metadata trailers) {
                            if (!drop.get()) {
                                super.onClose(status, trailers);
                            }
                        }
                    }, headers);
                }

                @Override
                public void sendMessage(Q message) {
                    if (message instanceof TxnRequest txn) {
                        for (Armed a : armed) {
                            if (a.match().test(txn) && a.shots().getAndDecrement() > 0) {
                                drop.set(true);
                                a.fired().incrementAndGet();
                                break;
                            }
                        }
                    }
                    super.sendMessage(message);
                }
            };
        }
    }
}
