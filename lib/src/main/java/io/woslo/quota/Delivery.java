package io.woslo.quota;

import io.woslo.internal.Futures;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Hands internal futures to callers: each within the operation timeout, failures mapped to the
 * {@link QuotaException} family ({@link Failures}), completed on the callback executor so that a caller's
 * continuation (which may block, even on another WOSLO call) never runs on a thread WOSLO needs for progress:
 * jetcd's executor, a lane, a combiner. A value that lands after its caller gave up is handed to an
 * {@code abandoned} consumer, which gives it back.
 */
final class Delivery {
    private final Duration operationTimeout;
    /** Ends waits that outlive the operation timeout. */
    private final ScheduledExecutorService deadlines;
    private final Executor callbacks;
    /** The callback pool when this made its own, else null. */
    private final ExecutorService ownedCallbacks;

    /** @param callbackExecutor where callers' futures complete; null for a pool of daemon threads of its own */
    Delivery(Duration operationTimeout, Executor callbackExecutor) {
        this.operationTimeout = operationTimeout;
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, Threads.daemon("woslo-quota-deadline"));
        timer.setRemoveOnCancelPolicy(true);
        this.deadlines = timer;
        if (callbackExecutor != null) {
            this.callbacks = callbackExecutor;
            this.ownedCallbacks = null;
        } else {
            this.ownedCallbacks = Executors.newCachedThreadPool(Threads.daemon("woslo-quota-callback"));
            this.callbacks = ownedCallbacks;
        }
    }

    /**
     * {@code internal} as the caller's future: it fails with {@link QuotaUnavailableException} when the operation
     * timeout passes first. When the caller's future is done first (timed out, cancelled), a value that arrives later
     * goes to {@code abandoned} (may be null), which gives it back.
     */
    <T> CompletableFuture<T> deliver(CompletableFuture<T> internal, String what, Consumer<T> abandoned) {
        return deliver(new Call(), internal, what, abandoned, null);
    }

    /**
     * {@link #deliver} for a change that is "not applied" when its caller's deadline passes before {@code work}
     * began writing (see {@link Call}), and "outcome unknown" after.
     */
    <T> CompletableFuture<T> deliverChange(String what, Function<Call, CompletableFuture<T>> work) {
        Call call = new Call();
        CompletableFuture<T> internal;
        try {
            internal = work.apply(call);
        } catch (RuntimeException e) {
            internal = CompletableFuture.failedFuture(e);
        }
        return deliver(call, internal, what, null, null);
    }

    /**
     * The general form: {@code recover}, when given, turns a failure (already mapped to the {@link QuotaException}
     * family, including the deadline's) into the caller's value, or throws it on.
     */
    <T> CompletableFuture<T> deliver(Call call, CompletableFuture<T> internal, String what, Consumer<T> abandoned,
                                     Function<Throwable, T> recover) {
        CompletableFuture<T> out = new CallFuture<>(call);
        ScheduledFuture<?> deadline;
        try {
            deadline = deadlines.schedule(() -> fail(out, call.abandon()
                    ? new QuotaUnavailableException(what + " did not complete within " + operationTimeout
                            + "; nothing was applied", null)
                    : new QuotaOutcomeUnknownException(what + " did not complete within " + operationTimeout
                            + "; it may still be applied", null), recover),
                    operationTimeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException closed) {
            out.completeExceptionally(new QuotaUnavailableException("the quota manager is closed", closed));
            return out;
        }
        internal.whenComplete((value, error) -> deadline.cancel(false));
        return relay(internal, out, abandoned, recover);
    }

    /** {@code internal} as the caller's future, completed on the callback executor; no deadline of its own. */
    <T> CompletableFuture<T> handOff(CompletableFuture<T> internal) {
        return relay(internal, new CompletableFuture<>(), null, null);
    }

    /**
     * Completes {@code out} with {@code internal}'s outcome on the callback executor (on the completing thread once
     * closed). A value {@code out} no longer takes (timed out, cancelled) goes to {@code abandoned}.
     */
    private <T> CompletableFuture<T> relay(CompletableFuture<T> internal, CompletableFuture<T> out,
                                           Consumer<T> abandoned, Function<Throwable, T> recover) {
        internal.whenComplete((value, error) -> {
            Runnable complete = () -> {
                boolean delivered = error == null
                        ? out.complete(value)
                        : fail(out, Failures.toQuotaException(error), recover);
                if (!delivered && error == null && value != null && abandoned != null) {
                    abandoned.accept(value);
                }
            };
            try {
                callbacks.execute(complete);
            } catch (RejectedExecutionException closed) {
                complete.run();
            }
        });
        return out;
    }

    private static <T> boolean fail(CompletableFuture<T> out, Throwable error, Function<Throwable, T> recover) {
        if (recover == null) {
            return out.completeExceptionally(error);
        }
        try {
            return out.complete(recover.apply(error));
        } catch (RuntimeException e) {
            return out.completeExceptionally(Futures.unwrap(e));
        }
    }

    void close() {
        deadlines.shutdownNow();
        if (ownedCallbacks != null) {
            ownedCallbacks.shutdown();
        }
    }

    /** A caller's future, tied to its {@link Call}: cancelling it abandons the call. */
    static final class CallFuture<T> extends CompletableFuture<T> {
        private final Call call;
        private volatile boolean wroteBeforeCancel;

        CallFuture(Call call) {
            this.call = call;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean cancelled = super.cancel(mayInterruptIfRunning);
            if (cancelled) {
                wroteBeforeCancel = !call.abandon();
            }
            return cancelled;
        }

        boolean wroteBeforeCancel() {
            return wroteBeforeCancel;
        }

        @Override
        public <U> CompletableFuture<U> newIncompleteFuture() {
            return new CompletableFuture<>();
        }
    }
}
