package io.woslo.testing;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Deterministic client-side faults for one jetcd client: a gRPC interceptor that a test arms to hold an RPC, lose
 * its reply, delay its reply or break watch streams. Install it when building the client:
 *
 * <pre>{@code
 * FaultInterceptor faults = new FaultInterceptor();
 * Client client = Client.builder().endpoints(...).interceptor(faults).build();   // or etcd.newClient(faults)
 * FaultInterceptor.Fault lost = faults.loseReply(FaultInterceptor.KV_PUT, 1);   // the next put: applied, no answer
 * }</pre>
 *
 * Each armed {@link Fault} fires for the next {@code times} calls of its method (first armed, first served) and
 * counts how often it fired; {@link #injected()} counts every fault the interceptor injected, by kind. Nothing is
 * random: a fault fires exactly on the calls it was armed for.
 */
public final class FaultInterceptor implements ClientInterceptor {
    public static final String KV_PUT = "etcdserverpb.KV/Put";
    public static final String KV_TXN = "etcdserverpb.KV/Txn";
    public static final String KV_RANGE = "etcdserverpb.KV/Range";
    public static final String KV_DELETE = "etcdserverpb.KV/DeleteRange";
    public static final String LEASE_GRANT = "etcdserverpb.Lease/LeaseGrant";
    public static final String LEASE_REVOKE = "etcdserverpb.Lease/LeaseRevoke";
    public static final String WATCH = "etcdserverpb.Watch/Watch";

    /** What a fault does to a call. */
    public enum Kind {
        /** The request is not sent until {@link Fault#release()}; then it goes out as it was. */
        HOLD,
        /** The request is sent and applied by etcd; its answer (and end) never reaches the caller. */
        LOSE_REPLY,
        /** The answer reaches the caller a fixed time after etcd sent it. */
        DELAY_REPLY,
        /** A watch stream ends with {@code UNAVAILABLE}, as when its member restarts; the client re-subscribes. */
        BREAK_WATCH
    }

    private final List<Fault> armed = new CopyOnWriteArrayList<>();
    private final Set<FaultyCall<?, ?>> liveWatches = ConcurrentHashMap.newKeySet();
    private final Map<Kind, AtomicLong> injected = new EnumMap<>(Kind.class);
    private final ScheduledExecutorService delays = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fault-interceptor-delays");
        t.setDaemon(true);
        return t;
    });

    public FaultInterceptor() {
        for (Kind kind : Kind.values()) {
            injected.put(kind, new AtomicLong());
        }
    }

    /** Holds the next {@code times} calls of {@code method} until the returned fault is released. */
    public Fault hold(String method, int times) {
        return arm(new Fault(this, Kind.HOLD, method, times, Duration.ZERO));
    }

    /** Sends the next {@code times} calls of {@code method} and drops their answers: callers see no end, a timeout. */
    public Fault loseReply(String method, int times) {
        return arm(new Fault(this, Kind.LOSE_REPLY, method, times, Duration.ZERO));
    }

    /** Delays every answer of the next {@code times} calls of {@code method} by {@code delay}. */
    public Fault delayReply(String method, Duration delay, int times) {
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay must not be negative: " + delay);
        }
        return arm(new Fault(this, Kind.DELAY_REPLY, method, times, delay));
    }

    /**
     * Breaks {@code times} watch streams with {@code UNAVAILABLE}: the streams open now at once, and if fewer are
     * open, the next ones as soon as they deliver an answer.
     */
    public Fault breakWatch(int times) {
        Fault fault = arm(new Fault(this, Kind.BREAK_WATCH, WATCH, times, Duration.ZERO));
        for (FaultyCall<?, ?> call : liveWatches) {
            if (!fault.take()) {
                break;
            }
            call.breakStream(fault);
        }
        return fault;
    }

    /** How many faults of each kind this interceptor injected so far. */
    public Map<Kind, Long> injected() {
        Map<Kind, Long> out = new EnumMap<>(Kind.class);
        injected.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    /** Disarms every fault and releases every held call. */
    public void reset() {
        for (Fault fault : armed) {
            fault.release();
        }
        armed.clear();
    }

    private Fault arm(Fault fault) {
        if (fault.shotsLeft() < 1) {
            throw new IllegalArgumentException("a fault fires at least once, not " + fault.shotsLeft() + " times");
        }
        armed.add(fault);
        return fault;
    }

    /** The first armed fault for {@code method} with a shot left, which it takes; null when none. */
    private Fault claim(String method, Kind... kinds) {
        for (Fault fault : armed) {
            if (fault.method.equals(method) && List.of(kinds).contains(fault.kind) && fault.take()) {
                if (fault.shotsLeft() == 0) {
                    armed.remove(fault);
                }
                return fault;
            }
        }
        return null;
    }

    void count(Fault fault) {
        injected.get(fault.kind).incrementAndGet();
        fault.fired();
    }

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method,
                                                               CallOptions options, Channel next) {
        String name = method.getFullMethodName();
        Fault fault = claim(name, Kind.HOLD, Kind.LOSE_REPLY, Kind.DELAY_REPLY);
        FaultyCall<ReqT, RespT> call = new FaultyCall<>(this, next.newCall(method, options), fault,
                name.equals(WATCH));
        if (fault != null && fault.kind == Kind.HOLD) {
            fault.held(call);
            count(fault);
        }
        return call;
    }

    // -----------------------------------------------------------------------------------------------------------

    /** One armed fault: how many shots it has left, how often it fired, and (for a hold) the calls it holds. */
    public static final class Fault {
        private final FaultInterceptor owner;
        private final Kind kind;
        private final String method;
        private final Duration delay;
        private int shotsLeft; // guarded by this
        private int fired; // guarded by this
        private int answered; // guarded by this
        private boolean released; // guarded by this
        private final List<FaultyCall<?, ?>> held = new ArrayList<>(); // guarded by this

        private Fault(FaultInterceptor owner, Kind kind, String method, int times, Duration delay) {
            this.owner = owner;
            this.kind = kind;
            this.method = method;
            this.shotsLeft = times;
            this.delay = delay;
        }

        public Kind kind() {
            return kind;
        }

        public String method() {
            return method;
        }

        synchronized boolean take() {
            if (shotsLeft <= 0 || released) {
                return false;
            }
            shotsLeft--;
            return true;
        }

        synchronized int shotsLeft() {
            return shotsLeft;
        }

        synchronized void fired() {
            fired++;
            notifyAll();
        }

        /** How many times this fault fired so far (a call held, a reply dropped or delayed, a stream broken). */
        public synchronized int injected() {
            return fired;
        }

        synchronized void answered() {
            answered++;
            notifyAll();
        }

        /**
         * For a hold: waits until {@code count} of the calls it held were answered by etcd after their release (so a
         * test knows a late request was processed); false when {@code bound} passed first.
         */
        public synchronized boolean awaitAnswered(int count, Duration bound) throws InterruptedException {
            long deadline = System.nanoTime() + bound.toNanos();
            while (answered < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return true;
        }

        /** Waits until the fault fired {@code count} times in all; false when {@code bound} passed first. */
        public synchronized boolean awaitInjected(int count, Duration bound) throws InterruptedException {
            long deadline = System.nanoTime() + bound.toNanos();
            while (fired < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return true;
        }

        private void held(FaultyCall<?, ?> call) {
            boolean now;
            synchronized (this) {
                now = released;
                if (!now) {
                    held.add(call);
                }
            }
            if (now) {
                call.release();
            }
        }

        /** Disarms the fault; held calls go out now, in the order they were made. */
        public void release() {
            List<FaultyCall<?, ?>> out;
            synchronized (this) {
                released = true;
                shotsLeft = 0;
                out = new ArrayList<>(held);
                held.clear();
            }
            owner.armed.remove(this);
            out.forEach(FaultyCall::release);
        }

        @Override
        public synchronized String toString() {
            return kind + " " + method + " (fired " + fired + ", " + shotsLeft + " left)";
        }
    }

    /** A call with at most one fault applied to it. */
    private static final class FaultyCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {
        private final FaultInterceptor owner;
        private final ClientCall<ReqT, RespT> delegate;
        private final Fault fault;
        private final boolean watch;
        private List<Runnable> pending; // guarded by this; non-null while held
        private Listener<RespT> listener; // the caller's listener, guarded by this for watches
        private boolean broken; // guarded by this

        FaultyCall(FaultInterceptor owner, ClientCall<ReqT, RespT> delegate, Fault fault, boolean watch) {
            this.owner = owner;
            this.delegate = delegate;
            this.fault = fault;
            this.watch = watch;
            this.pending = fault != null && fault.kind == Kind.HOLD ? new ArrayList<>() : null;
        }

        private void run(Runnable action) {
            synchronized (this) {
                if (pending != null) {
                    pending.add(action);
                    return;
                }
            }
            action.run();
        }

        void release() {
            while (true) {
                List<Runnable> batch;
                synchronized (this) {
                    if (pending == null) {
                        return;
                    }
                    if (pending.isEmpty()) {
                        pending = null;
                        return;
                    }
                    batch = pending;
                    pending = new ArrayList<>();
                }
                batch.forEach(Runnable::run);
            }
        }

        @Override
        public void start(Listener<RespT> responseListener, Metadata headers) {
            Listener<RespT> wrapped = wrap(responseListener);
            run(() -> delegate.start(wrapped, headers));
        }

        private Listener<RespT> wrap(Listener<RespT> caller) {
            synchronized (this) {
                listener = caller;
            }
            if (fault != null && fault.kind == Kind.LOSE_REPLY) {
                return new Listener<>() {
                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        owner.count(fault); // etcd answered (and, for a write, applied it); the caller never hears
                    }
                };
            }
            if (fault != null && fault.kind == Kind.HOLD) {
                return new Listener<>() { // passes everything on, and tells the fault when etcd answered
                    @Override
                    public void onHeaders(Metadata headers) {
                        caller.onHeaders(headers);
                    }

                    @Override
                    public void onMessage(RespT message) {
                        caller.onMessage(message);
                    }

                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        caller.onClose(status, trailers);
                        fault.answered();
                    }

                    @Override
                    public void onReady() {
                        caller.onReady();
                    }
                };
            }
            if (fault != null && fault.kind == Kind.DELAY_REPLY) {
                long nanos = fault.delay.toNanos();
                return new Listener<>() {
                    @Override
                    public void onHeaders(Metadata headers) {
                        later(() -> caller.onHeaders(headers));
                    }

                    @Override
                    public void onMessage(RespT message) {
                        later(() -> caller.onMessage(message));
                    }

                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        owner.count(fault);
                        later(() -> caller.onClose(status, trailers));
                    }

                    @Override
                    public void onReady() {
                        caller.onReady();
                    }

                    private void later(Runnable r) {
                        owner.delays.schedule(r, nanos, TimeUnit.NANOSECONDS);
                    }
                };
            }
            if (watch) {
                owner.liveWatches.add(this);
                return new Listener<>() {
                    @Override
                    public void onHeaders(Metadata headers) {
                        deliver(l -> l.onHeaders(headers));
                    }

                    @Override
                    public void onMessage(RespT message) {
                        Fault armed = owner.claim(WATCH, Kind.BREAK_WATCH);
                        if (armed != null) {
                            breakStream(armed);
                            return;
                        }
                        deliver(l -> l.onMessage(message));
                    }

                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        owner.liveWatches.remove(FaultyCall.this);
                        deliver(l -> l.onClose(status, trailers));
                    }

                    @Override
                    public void onReady() {
                        deliver(Listener::onReady);
                    }
                };
            }
            return caller;
        }

        /** Calls the caller's listener unless the stream was broken (then the real stream's rest is dropped). */
        private synchronized void deliver(java.util.function.Consumer<Listener<RespT>> callback) {
            if (!broken) {
                callback.accept(listener);
            }
        }

        /** Ends the stream for the caller with UNAVAILABLE and tears down the real one. */
        void breakStream(Fault by) {
            synchronized (this) {
                if (broken || listener == null) {
                    return;
                }
                broken = true;
                owner.liveWatches.remove(this);
                listener.onClose(Status.UNAVAILABLE.withDescription("watch stream broken by FaultInterceptor"),
                        new Metadata());
            }
            owner.count(by);
            delegate.cancel("broken by FaultInterceptor", null);
        }

        @Override
        public void request(int numMessages) {
            run(() -> delegate.request(numMessages));
        }

        @Override
        public void cancel(String message, Throwable cause) {
            if (watch) {
                owner.liveWatches.remove(this);
            }
            release(); // a held call that is cancelled goes out and is cancelled at once, so its listener hears
            delegate.cancel(message, cause);
        }

        @Override
        public void halfClose() {
            run(delegate::halfClose);
        }

        @Override
        public void sendMessage(ReqT message) {
            run(() -> delegate.sendMessage(message));
        }

        @Override
        public boolean isReady() {
            synchronized (this) {
                if (pending != null) {
                    return false;
                }
            }
            return delegate.isReady();
        }

        @Override
        public void setMessageCompression(boolean enabled) {
            run(() -> delegate.setMessageCompression(enabled));
        }
    }
}
