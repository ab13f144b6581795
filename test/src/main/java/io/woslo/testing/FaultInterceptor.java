package io.woslo.testing;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
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
    final Set<FaultyCall<?, ?>> liveWatches = ConcurrentHashMap.newKeySet();
    private final Map<Kind, AtomicLong> injected = new EnumMap<>(Kind.class);
    final ScheduledExecutorService delays = Executors.newSingleThreadScheduledExecutor(r -> {
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
    Fault claim(String method, Kind... kinds) {
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

        Duration delay() {
            return delay;
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
}
