package io.woslo.internal;

import io.etcd.jetcd.common.exception.EtcdException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/** Small helpers for the futures jetcd returns: bounded waits and one classification of etcd failures. */
public final class Futures {
    private Futures() {
    }

    /**
     * Bounds an etcd call: the returned future fails with {@link EtcdUnavailableException} when {@code call} has not
     * finished within {@code timeout} or fails because etcd cannot serve; other failures pass through unwrapped.
     */
    public static <T> CompletableFuture<T> bounded(CompletableFuture<T> call, Duration timeout, String what) {
        CompletableFuture<T> result = new CompletableFuture<>();
        // The bound applies to a copy: the call itself must stay free to complete later, so that callers can learn
        // whether a call they gave up on still reached etcd.
        call.copy().orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((value, error) -> {
            if (error == null) {
                result.complete(value);
            } else {
                result.completeExceptionally(classify(unwrap(error), timeout, what));
            }
        });
        return result;
    }

    /**
     * Runs {@code attempt} until it succeeds, at most {@code attempts} times, {@code pause} apart, while its failure
     * (unwrapped) is {@code retryable}; then fails with the last failure.
     */
    public static <T> CompletableFuture<T> retry(java.util.function.Supplier<CompletableFuture<T>> attempt,
                                                 int attempts, Duration pause,
                                                 java.util.function.Predicate<Throwable> retryable) {
        return attempt.get().exceptionallyCompose(error -> attempts > 1 && retryable.test(unwrap(error))
                ? CompletableFuture.supplyAsync(() -> null,
                                CompletableFuture.delayedExecutor(pause.toMillis(), TimeUnit.MILLISECONDS))
                        .thenCompose(v -> retry(attempt, attempts - 1, pause, retryable))
                : CompletableFuture.failedFuture(error));
    }

    /** The failure inside {@link CompletionException} / {@link ExecutionException} wrappers. */
    public static Throwable unwrap(Throwable error) {
        Throwable t = error;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** Whether {@code error} (unwrapped) says etcd reported NOT_FOUND, as for a lease that has already ended. */
    public static boolean isNotFound(Throwable error) {
        Throwable t = unwrap(error);
        for (; t != null; t = t.getCause()) {
            if (t instanceof EtcdException e
                    && e.getErrorCode() == io.etcd.jetcd.common.exception.ErrorCode.NOT_FOUND) {
                return true;
            }
            if (t instanceof StatusRuntimeException s && s.getStatus().getCode() == Status.Code.NOT_FOUND) {
                return true;
            }
        }
        return false;
    }

    private static Throwable classify(Throwable error, Duration timeout, String what) {
        if (error instanceof TimeoutException) {
            return new EtcdUnavailableException("etcd did not answer " + what + " within " + timeout, error);
        }
        if (isNotFound(error) || error instanceof CancellationException) {
            return error;
        }
        return new EtcdUnavailableException("etcd could not serve " + what + ": " + describe(error), error);
    }

    private static String describe(Throwable error) {
        String message = error.getMessage();
        return message == null ? error.getClass().getSimpleName() : message;
    }

    /**
     * Waits for {@code future} on a caller's thread, restoring the interrupt flag if interrupted, and rethrows its
     * failure unwrapped when it is unchecked, or as {@code wrap} produces it otherwise.
     */
    public static <T> T join(CompletableFuture<T> future, Function<Throwable, RuntimeException> wrapChecked) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            future.cancel(false);
            throw wrapChecked.apply(e);
        } catch (ExecutionException e) {
            Throwable cause = unwrap(e);
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw wrapChecked.apply(cause);
        }
    }
}
