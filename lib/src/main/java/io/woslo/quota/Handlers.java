package io.woslo.quota;

import io.woslo.internal.Futures;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Calls into the registered {@link UsedQuotaHandler}s: each on the handler executor (never a thread WOSLO needs for
 * progress), each bounded by the operation timeout, a handler's failure named with its resource and account.
 */
final class Handlers {
    private final Map<String, UsedQuotaHandler> handlers;
    private final Executor executor;
    /** The handler pool when this made its own, else null. */
    private final ExecutorService ownedExecutor;
    private final Duration operationTimeout;

    /** @param executor where handlers run; null for a pool of daemon threads of its own */
    Handlers(Map<String, UsedQuotaHandler> handlers, Executor executor, Duration operationTimeout) {
        this.handlers = Map.copyOf(handlers);
        this.operationTimeout = operationTimeout;
        if (executor != null) {
            this.executor = executor;
            this.ownedExecutor = null;
        } else {
            this.ownedExecutor = Executors.newCachedThreadPool(Threads.daemon("woslo-quota-handler"));
            this.executor = ownedExecutor;
        }
    }

    /** The registered resource names. */
    Set<String> names() {
        return handlers.keySet();
    }

    /** The registered resource names, sorted. */
    List<String> sortedNames() {
        return handlers.keySet().stream().sorted().toList();
    }

    /** The executor handlers run on (also for user callbacks such as an account lister). */
    Executor executor() {
        return executor;
    }

    /** The current quota of each resource; fails with {@link QuotaUnavailableException} when a handler does. */
    CompletableFuture<Map<String, Long>> quotas(String account, Collection<String> resources) {
        return queryAll(account, resources, UsedQuotaHandler::queryQuota);
    }

    /** The current used figure of each resource; fails with {@link QuotaUnavailableException} when a handler does. */
    CompletableFuture<Map<String, Long>> used(String account, Collection<String> resources) {
        return queryAll(account, resources, UsedQuotaHandler::queryUsed);
    }

    /**
     * Used and quota of each resource from its handler: a {@code long[]{used, quota}}, or the error message of a
     * handler that failed or did not answer in time. Never fails as a whole.
     */
    CompletableFuture<Map<String, Object>> truth(String account, List<String> resources) {
        Map<String, CompletableFuture<Object>> calls = new LinkedHashMap<>();
        for (String resource : resources) {
            UsedQuotaHandler handler = handlers.get(resource);
            CompletableFuture<Object> call = CompletableFuture
                    .supplyAsync(() -> (Object) new long[] {callHandler(resource, account, handler::queryUsed),
                            callHandler(resource, account, handler::queryQuota)}, executor)
                    .orTimeout(operationTimeout.toMillis(), TimeUnit.MILLISECONDS)
                    .exceptionally(error -> describeFailure(resource, account, Futures.unwrap(error)));
            calls.put(resource, call);
        }
        return CompletableFuture.allOf(calls.values().toArray(CompletableFuture[]::new)).thenApply(v -> {
            Map<String, Object> out = new LinkedHashMap<>();
            calls.forEach((resource, call) -> out.put(resource, call.join()));
            return out;
        });
    }

    private CompletableFuture<Map<String, Long>> queryAll(String account, Collection<String> resources,
                                                          HandlerQuery query) {
        Map<String, CompletableFuture<Long>> calls = new LinkedHashMap<>();
        for (String resource : resources) {
            UsedQuotaHandler handler = handlers.get(resource);
            calls.put(resource, CompletableFuture
                    .supplyAsync(() -> callHandler(resource, account, a -> query.ask(handler, a)), executor)
                    .orTimeout(operationTimeout.toMillis(), TimeUnit.MILLISECONDS));
        }
        return CompletableFuture.allOf(calls.values().toArray(CompletableFuture[]::new))
                .handle((v, error) -> {
                    if (error != null) {
                        Throwable cause = Futures.unwrap(error);
                        throw new CompletionException(cause instanceof QuotaUnavailableException
                                ? cause
                                : new QuotaUnavailableException("a quota handler did not answer for account '"
                                        + account + "' within " + operationTimeout, cause));
                    }
                    Map<String, Long> out = new LinkedHashMap<>();
                    calls.forEach((resource, call) -> out.put(resource, call.join()));
                    return out;
                });
    }

    @FunctionalInterface
    private interface HandlerQuery {
        long ask(UsedQuotaHandler handler, String account) throws Exception;
    }

    @FunctionalInterface
    private interface HandlerCall {
        long call(String account) throws Exception;
    }

    private static long callHandler(String resource, String account, HandlerCall call) {
        try {
            return call.call(account);
        } catch (Exception e) {
            throw new QuotaUnavailableException("the handler of resource '" + resource + "' failed for account '"
                    + account + "': " + e, e);
        }
    }

    private String describeFailure(String resource, String account, Throwable error) {
        if (error instanceof TimeoutException) {
            return "the handler of resource '" + resource + "' did not answer for account '" + account + "' within "
                    + operationTimeout;
        }
        return error.getMessage();
    }

    void close() {
        if (ownedExecutor != null) {
            ownedExecutor.shutdownNow();
        }
    }
}
