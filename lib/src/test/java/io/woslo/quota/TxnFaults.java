package io.woslo.quota;

import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.RequestOp;
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
import io.woslo.testing.FaultInterceptor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Faults on KV transactions chosen by what they do, not by their place in the call order: {@link #hold} keeps the
 * next matching transaction from reaching etcd until released (as jetcd does with a call made while etcd is
 * unreachable); {@link #lose} lets matching transactions reach etcd and drops their answers.
 */
final class TxnFaults implements ClientInterceptor {
    /** One armed fault. */
    static final class Fault {
        private final Predicate<TxnRequest> match;
        private final boolean hold;
        private final AtomicInteger shots;
        private final CountDownLatch fired = new CountDownLatch(1);
        private final CountDownLatch answered = new CountDownLatch(1);
        private final AtomicInteger firedCount = new AtomicInteger();
        private final List<Runnable> held = new ArrayList<>(); // guarded by this
        private boolean released; // guarded by this

        Fault(Predicate<TxnRequest> match, boolean hold, int times) {
            this.match = match;
            this.hold = hold;
            this.shots = new AtomicInteger(times);
        }

        /** Waits until the fault fired at least once. */
        boolean awaitFired(Duration bound) throws InterruptedException {
            return fired.await(bound.toMillis(), TimeUnit.MILLISECONDS);
        }

        /** For a hold: waits until etcd answered a held transaction after its release. */
        boolean awaitAnswered(Duration bound) throws InterruptedException {
            return answered.await(bound.toMillis(), TimeUnit.MILLISECONDS);
        }

        int fired() {
            return firedCount.get();
        }

        void disarm() {
            shots.set(0);
        }

        /** Sends what a hold kept back. */
        void release() {
            List<Runnable> out;
            synchronized (this) {
                released = true;
                out = new ArrayList<>(held);
                held.clear();
            }
            out.forEach(Runnable::run);
        }

        /** Runs {@code action} now, or keeps it until {@link #release}; true when kept. */
        boolean runOrKeep(Runnable action) {
            synchronized (this) {
                if (!released) {
                    held.add(action);
                    return true;
                }
            }
            action.run();
            return false;
        }
    }

    private final List<Fault> armed = new CopyOnWriteArrayList<>();

    /** Holds the next transaction matching {@code match} until {@link Fault#release()}. */
    Fault hold(Predicate<TxnRequest> match) {
        Fault fault = new Fault(match, true, 1);
        armed.add(fault);
        return fault;
    }

    /** Drops the answers of the next {@code times} transactions matching {@code match} (etcd applies them). */
    Fault lose(Predicate<TxnRequest> match, int times) {
        Fault fault = new Fault(match, false, times);
        armed.add(fault);
        return fault;
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        ClientCall<Q, R> call = next.newCall(method, options);
        if (!method.getFullMethodName().equals(FaultInterceptor.KV_TXN)) {
            return call;
        }
        return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
            private volatile Fault fault; // set by sendMessage, before the call is half-closed

            @Override
            public void start(Listener<R> listener, Metadata headers) {
                super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                    @Override
                    public void onMessage(R message) {
                        if (fault == null || fault.hold) {
                            super.onMessage(message);
                        }
                    }

                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        if (fault == null || fault.hold) {
                            super.onClose(status, trailers);
                        }
                        if (fault != null) {
                            fault.answered.countDown();
                        }
                    }
                }, headers);
            }

            @Override
            public void sendMessage(Q message) {
                if (message instanceof TxnRequest txn) {
                    for (Fault a : armed) {
                        if (a.match.test(txn) && a.shots.getAndDecrement() > 0) {
                            fault = a;
                            a.firedCount.incrementAndGet();
                            a.fired.countDown();
                            break;
                        }
                    }
                }
                if (fault != null && fault.hold) {
                    fault.runOrKeep(() -> super.sendMessage(message));
                } else {
                    super.sendMessage(message);
                }
            }

            @Override
            public void halfClose() {
                if (fault != null && fault.hold) {
                    fault.runOrKeep(super::halfClose);
                } else {
                    super.halfClose();
                }
            }
        };
    }

    // --- What transactions do --------------------------------------------------------------------------------

    /** A speculative batch: its else branch is another transaction. */
    static boolean speculative(TxnRequest txn) {
        return txn.getFailureList().stream().anyMatch(RequestOp::hasRequestTxn);
    }

    /** A transaction whose then branch deletes {@code <ns>/reservations/...} and compares a record's version. */
    static boolean blindFinish(TxnRequest txn) {
        return txn.getCompareList().stream().anyMatch(c -> c.getTarget() == Compare.CompareTarget.VERSION
                && c.getKey().toStringUtf8().contains("/reservations/"));
    }

    /** A transaction that creates a read-lock entry it compares absent, and does nothing else: a withdrawal. */
    static boolean createsAnEntryItComparesAbsent(TxnRequest txn) {
        return txn.getSuccessCount() >= 1 && txn.getSuccess(0).hasRequestPut()
                && txn.getSuccess(0).getRequestPut().getKey().toStringUtf8().contains("/locks/")
                && txn.getCompareList().stream().anyMatch(c -> c.getTarget() == Compare.CompareTarget.CREATE
                        && c.getCreateRevision() == 0
                        && c.getKey().equals(txn.getSuccess(0).getRequestPut().getKey()))
                && txn.getSuccessList().stream().noneMatch(op -> op.hasRequestPut()
                        && op.getRequestPut().getKey().toStringUtf8().contains("/quota/"));
    }
}
