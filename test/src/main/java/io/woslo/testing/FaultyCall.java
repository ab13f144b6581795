package io.woslo.testing;

import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.woslo.testing.FaultInterceptor.Fault;
import io.woslo.testing.FaultInterceptor.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A call with at most one fault applied to it. */
final class FaultyCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {
    private final FaultInterceptor owner;
    private final ClientCall<ReqT, RespT> delegate;
    private final Fault fault;
    private final boolean watch;
    /**
     * Serializes what the caller's listener hears on a watch (the real stream's callbacks and an injected break).
     * It is held while the listener runs, so it is never taken by the caller's own calls into this call
     * ({@link #cancel}, {@link #request}, ...): the listener may wait for a lock of the caller's (jetcd's watch lock,
     * say) that a thread cancelling this call holds, and the two would wait for each other forever.
     */
    private final Object delivery = new Object();
    private List<Runnable> pending; // guarded by this; non-null while held
    private Listener<RespT> listener; // the caller's listener, guarded by delivery
    private boolean broken; // guarded by delivery

    FaultyCall(FaultInterceptor owner, ClientCall<ReqT, RespT> delegate, Fault fault, boolean watch) {
        this.owner = owner;
        this.delegate = delegate;
        this.fault = fault;
        this.watch = watch;
        this.pending = fault != null && fault.kind() == Kind.HOLD ? new ArrayList<>() : null;
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
        synchronized (delivery) {
            listener = caller;
        }
        if (fault != null && fault.kind() == Kind.LOSE_REPLY) {
            return new Listener<>() {
                @Override
                public void onClose(Status status, Metadata trailers) {
                    owner.count(fault); // etcd answered (and, for a write, applied it); the caller never hears
                }
            };
        }
        if (fault != null && fault.kind() == Kind.HOLD) {
            return held(caller);
        }
        if (fault != null && fault.kind() == Kind.DELAY_REPLY) {
            return delayed(caller);
        }
        if (watch) {
            return watched();
        }
        return caller;
    }

    /** Passes everything on, and tells the fault when etcd answered. */
    private Listener<RespT> held(Listener<RespT> caller) {
        return new Listener<>() {
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

    /** Passes every reply on after the fault's delay. */
    private Listener<RespT> delayed(Listener<RespT> caller) {
        long nanos = fault.delay().toNanos();
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

    /** A watch stream's listener: a break-watch fault armed on it ends it on its next message. */
    private Listener<RespT> watched() {
        owner.liveWatches.add(this);
        return new Listener<>() {
            @Override
            public void onHeaders(Metadata headers) {
                deliver(l -> l.onHeaders(headers));
            }

            @Override
            public void onMessage(RespT message) {
                Fault armed = owner.claim(FaultInterceptor.WATCH, Kind.BREAK_WATCH);
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

    /** Calls the caller's listener unless the stream was broken (then the real stream's rest is dropped). */
    private void deliver(java.util.function.Consumer<Listener<RespT>> callback) {
        synchronized (delivery) {
            if (!broken) {
                callback.accept(listener);
            }
        }
    }

    /** Ends the stream for the caller with UNAVAILABLE and tears down the real one. */
    void breakStream(Fault by) {
        synchronized (delivery) {
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
