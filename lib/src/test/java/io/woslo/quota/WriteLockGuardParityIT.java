package io.woslo.quota;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.MethodDescriptor;
import io.woslo.internal.Acquisition;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.FaultInterceptor;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Review of the lock engine split (6f92dcd → bec95c6, which must not change behaviour): the quota write lock's
 * guarded enqueue. Its compare on the account's index key is made to fail (the compare's result flipped on the way
 * to etcd) a chosen number of times: each conflict must be retried, nothing must be left of a conflicting attempt
 * (no entry, its lease revoked, the guarded rewrite not applied), and conflicts that go on past the wait end in
 * {@link QuotaBusyException}, not in a retry forever or another error. Uses only what both editions have.
 */
@WithEtcd(members = 1)
class WriteLockGuardParityIT {
    private final String namespace = "/t-" + UUID.randomUUID();
    private final String account = "acct-" + UUID.randomUUID();
    private final List<AutoCloseable> closeables = new CopyOnWriteArrayList<>();

    @AfterEach
    void closeWhatTheTestOpened() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    @Test
    void conflictsThatOutlastTheWaitEndInBusyAfterRetriesAndLeaveNothing(EtcdCluster etcd, Client client)
            throws Exception {
        SpoilGuard spoil = new SpoilGuard(Integer.MAX_VALUE);
        QuotaManager manager = manager(etcd.newClient(spoil));
        Duration wait = Duration.ofMillis(1500);
        long start = System.nanoTime();

        Throwable thrown = failureOf(manager.accountLock().lock(account, true, wait));

        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(thrown).isInstanceOf(QuotaBusyException.class)
                .hasMessageContaining("the write lock of account '" + account + "' was not acquired within PT1.5S");
        assertThat(spoil.spoiled.get()).as("conflicts retried").isGreaterThan(1);
        assertThat(tookMillis).as("retried until the wait passed").isGreaterThanOrEqualTo(wait.toMillis());
        assertThat(keysUnder(client, namespace + "/locks/")).isEmpty();
        assertThat(keysUnder(client, namespace + "/accounts/")).as("no guarded rewrite applied").isEmpty();
        int sent = spoil.leases.size();
        Await.until("every conflicting attempt's lease revoked", () -> allRevoked(client, spoil.leases));
        assertThat(spoil.spoiled.get()).as("no enqueue after the caller was told busy").isEqualTo(sent);
    }

    @Test
    void twoConflictsAreRetriedAndTheThirdEnqueueTakesTheLock(EtcdCluster etcd, Client client) throws Exception {
        SpoilGuard spoil = new SpoilGuard(2);
        QuotaManager manager = manager(etcd.newClient(spoil));

        Acquisition lock = manager.accountLock().lock(account, true, Duration.ofSeconds(3))
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);

        assertThat(spoil.spoiled.get()).isEqualTo(2);
        assertThat(spoil.leases).hasSize(3);
        assertThat(lock.leaseId()).isEqualTo(spoil.leases.get(2));
        assertThat(keysUnder(client, namespace + "/locks/")).containsExactly(lock.entryKey());
        assertThat(keysUnder(client, namespace + "/accounts/")).as("the winning enqueue's rewrite")
                .containsExactly(namespace + "/accounts/" + account);
        Await.until("the conflicting attempts' leases revoked", () -> allRevoked(client, spoil.leases.subList(0, 2)));
        assertThat(client.getLeaseClient().timeToLive(lock.leaseId(), LeaseOption.DEFAULT)
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getTTL()).isPositive();

        manager.accountLock().unlock(lock).get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(keysUnder(client, namespace + "/locks/")).isEmpty();
    }

    private QuotaManager manager(Client client) {
        closeables.add(client);
        QuotaManager manager = QuotaManager.builder(client).namespace(namespace).resource("CPUA",
                new FixedHandler(0, 100)).operationTimeout(Duration.ofSeconds(4)).build();
        closeables.add(0, manager);
        return manager;
    }

    private static Throwable failureOf(CompletableFuture<?> future) throws Exception {
        try {
            future.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return io.woslo.internal.Futures.unwrap(e.getCause());
        }
        throw new AssertionError("expected a failure");
    }

    private static List<String> keysUnder(Client client, String prefix) throws Exception {
        return client.getKVClient().get(ByteSequence.from(prefix, UTF_8), GetOption.builder().isPrefix(true).build())
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getKvs().stream()
                .map(KeyValue::getKey).map(k -> k.toString(UTF_8)).toList();
    }

    private static boolean allRevoked(Client client, List<Long> leases) {
        try {
            for (long lease : leases) {
                if (client.getLeaseClient().timeToLive(lease, LeaseOption.DEFAULT)
                        .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getTTL() != -1) {
                    return false;
                }
            }
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * Flips the result of the account-index compare of the next {@code times} guarded write-lock enqueues (a
     * transaction that puts a {@code w-} entry under {@code /locks/} and compares a key under {@code /accounts/}), so
     * that etcd answers them as conflicts, exactly as if the index key had changed. Records each enqueue's lease.
     */
    static final class SpoilGuard implements ClientInterceptor {
        final AtomicInteger spoiled = new AtomicInteger();
        final List<Long> leases = new CopyOnWriteArrayList<>();
        private final AtomicInteger shots;

        SpoilGuard(int times) {
            this.shots = new AtomicInteger(times);
        }

        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
            ClientCall<Q, R> call = next.newCall(method, options);
            if (!method.getFullMethodName().equals(FaultInterceptor.KV_TXN)) {
                return call;
            }
            return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
                @Override
                @SuppressWarnings("unchecked")
                public void sendMessage(Q message) {
                    if (message instanceof TxnRequest txn && guardedWriteEnqueue(txn)) {
                        txn.getSuccessList().stream().filter(RequestOp::hasRequestPut)
                                .filter(op -> op.getRequestPut().getKey().toStringUtf8().contains("/locks/"))
                                .forEach(op -> leases.add(op.getRequestPut().getLease()));
                        if (shots.getAndDecrement() > 0) {
                            spoiled.incrementAndGet();
                            super.sendMessage((Q) flipIndexCompare(txn));
                            return;
                        }
                    }
                    super.sendMessage(message);
                }
            };
        }

        private static boolean guardedWriteEnqueue(TxnRequest txn) {
            boolean putsWriter = txn.getSuccessList().stream().anyMatch(op -> op.hasRequestPut()
                    && op.getRequestPut().getKey().toStringUtf8().matches(".*/locks/[^/]+/w-.*"));
            boolean comparesIndex = txn.getCompareList().stream()
                    .anyMatch(c -> c.getKey().toStringUtf8().contains("/accounts/"));
            return putsWriter && comparesIndex;
        }

        private static TxnRequest flipIndexCompare(TxnRequest txn) {
            TxnRequest.Builder builder = txn.toBuilder();
            for (int i = 0; i < builder.getCompareCount(); i++) {
                Compare c = builder.getCompare(i);
                if (c.getKey().toStringUtf8().contains("/accounts/")) {
                    builder.setCompare(i, c.toBuilder().setResult(c.getResult() == Compare.CompareResult.EQUAL
                            ? Compare.CompareResult.NOT_EQUAL : Compare.CompareResult.EQUAL));
                }
            }
            return builder.build();
        }
    }
}
