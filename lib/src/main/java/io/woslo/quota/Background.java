package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.KV;
import io.etcd.jetcd.options.GetOption;
import io.woslo.internal.Futures;
import io.woslo.lock.LockMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The manager's background work, each on a thread of its own: the etcd health probe (nothing else runs on its
 * thread, so a long scan or a slow etcd call cannot delay it), the initial load of the accounts, and the periodic
 * over-quota scan (which asks every account's handlers and may take long).
 */
final class Background {
    private static final Logger LOG = LoggerFactory.getLogger(Background.class);

    /** What the background work needs from its manager, given at construction. */
    record Settings(KV kv, String namespace, Handlers handlers, QuotaMetrics metrics, OverQuotaListener listener,
                    FailureMode failureMode, Predicate<String> quotaEnabled, Duration healthCheckInterval,
                    Duration operationTimeout, Duration overQuotaScanInterval) {
    }

    private final Settings settings;
    /** The bound on one probe: it answers in milliseconds when etcd is fine; waiting longer only delays the news. */
    private final Duration probeTimeout;
    private final ScheduledExecutorService prober;
    private final ScheduledExecutorService scanner;
    private volatile boolean etcdHealthy = true;

    /** Starts the health probe. */
    Background(Settings settings) {
        this.settings = settings;
        Duration probeBound = settings.healthCheckInterval().compareTo(Duration.ofMillis(500)) < 0
                ? Duration.ofMillis(500) : settings.healthCheckInterval();
        this.probeTimeout = probeBound.compareTo(settings.operationTimeout()) > 0
                ? settings.operationTimeout() : probeBound;
        this.prober = Executors.newSingleThreadScheduledExecutor(Threads.daemon("woslo-quota-probe"));
        this.scanner = Executors.newSingleThreadScheduledExecutor(Threads.daemon("woslo-quota-scan"));
        long every = settings.healthCheckInterval().toMillis();
        prober.scheduleWithFixedDelay(this::probeEtcd, every, every, TimeUnit.MILLISECONDS);
    }

    /** Whether etcd answered the last health probe. */
    boolean etcdHealthy() {
        return etcdHealthy;
    }

    /**
     * Starts the periodic over-quota scan and loads every account {@code lister} names, one after the other, with
     * {@code forcedRefresh}. Completes when the load is done; failures of single accounts are logged.
     */
    CompletableFuture<Void> initialLoad(AccountLister lister, Function<String, CompletableFuture<?>> forcedRefresh) {
        long every = settings.overQuotaScanInterval().toMillis();
        scanner.scheduleWithFixedDelay(() -> scanOverQuota(lister), every, every, TimeUnit.MILLISECONDS);
        return CompletableFuture.supplyAsync(() -> listAccounts(lister), settings.handlers().executor())
                .thenCompose(accounts -> {
                    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
                    for (String account : accounts) {
                        chain = chain.thenCompose(v -> forcedRefresh.apply(account).handle((result, error) -> {
                            if (error != null) {
                                LOG.warn("initial load of account '{}' failed: {}", account,
                                        Futures.unwrap(error).getMessage());
                            }
                            return null;
                        }));
                    }
                    return chain;
                });
    }

    /**
     * Asks the handlers of every account {@code lister} names whether used exceeds quota, and for each such account
     * and resource logs a warning, counts it and tells the {@link OverQuotaListener}. Returns the findings.
     */
    List<ResourceCheck> scanOverQuota(AccountLister lister) {
        List<ResourceCheck> found = new ArrayList<>();
        try {
            for (String account : listAccounts(lister)) {
                if (settings.quotaEnabled().test(account)) {
                    scanAccount(account, found);
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("over-quota scan failed: {}", e.getMessage(), e);
        }
        return found;
    }

    private void scanAccount(String account, List<ResourceCheck> found) {
        Map<String, Object> truth = settings.handlers().truth(account, settings.handlers().sortedNames()).join();
        truth.forEach((resource, figures) -> {
            if (figures instanceof long[] f && f[0] > f[1]) {
                LOG.warn("account '{}' is over quota of '{}': used {} of {}", account, resource, f[0], f[1]);
                settings.metrics().overQuota(account, resource);
                settings.listener().overQuota(account, resource, f[0], f[1]);
                found.add(new ResourceCheck(resource, f[1], f[0], 0, 0, 0, true,
                        "used " + f[0] + " exceeds quota " + f[1], LockMode.NONE));
            }
        });
    }

    private static List<String> listAccounts(AccountLister lister) {
        try {
            List<String> accounts = lister.accounts();
            return accounts == null ? List.of() : accounts;
        } catch (Exception e) {
            throw new QuotaUnavailableException("the account lister failed: " + e.getMessage(), e);
        }
    }

    private void probeEtcd() {
        boolean healthy;
        try {
            Futures.bounded(settings.kv().get(bytes(settings.namespace()),
                    GetOption.builder().withCountOnly(true).build()), probeTimeout, "the health probe").join();
            healthy = true;
        } catch (RuntimeException e) {
            healthy = false;
        }
        if (healthy != etcdHealthy) {
            if (healthy) {
                LOG.info("etcd answers again");
            } else {
                LOG.warn("etcd failed its health probe; reservations {} until it answers",
                        settings.failureMode() == FailureMode.CLOSED ? "fail fast" : "pass unchecked");
            }
        }
        etcdHealthy = healthy;
        settings.metrics().etcdHealthy(healthy);
    }

    void close() {
        prober.shutdownNow();
        scanner.shutdownNow();
    }
}
