package io.woslo.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.quota.MutableHandler;
import io.woslo.quota.QuotaExceededException;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.QuotaUnavailableException;
import io.woslo.quota.Reservation;
import io.woslo.quota.UsedQuotaHandler;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.TestTimeouts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A reservation storm against several {@link QuotaManager}s, each on its own jetcd client: reservations kept or
 * rolled back, deletions ({@code cleanUsed}) of kept units, on two accounts and two resources, with every call and
 * its outcome in a {@link QuotaLedger}. A sampler reads the raw counters all along to catch a moment over quota.
 *
 * <p>Counters are loaded once (a forced refresh) before the storm and never refreshed during it (a long cache TTL),
 * so each counter's truth is its start value plus the ledger.
 */
final class QuotaStorm extends Workload {
    static final List<String> ACCOUNTS = List.of("red", "blue");
    static final List<String> RESOURCES = List.of("CPU", "GPU");
    static final long START_USED = 5;
    static final long QUOTA = 40;
    static final Duration LOCK_LEASE = Duration.ofSeconds(3);
    static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(3);
    private static final long SAMPLE_MILLIS = 20;

    private final String namespace;
    private final List<QuotaManager> managers = new ArrayList<>();
    private final RawEtcd raw;
    private final QuotaLedger ledger = new QuotaLedger();
    private final Map<String, AtomicLong> rawPeak = new ConcurrentHashMap<>();
    private final Thread sampler;
    private volatile boolean sampling = true;

    private QuotaStorm(EtcdCluster etcd, String namespace, int clients, int threads, long opsPerThread,
                       Duration timeBudget) {
        super("storm", threads, opsPerThread, timeBudget);
        this.namespace = namespace;
        for (int i = 0; i < clients; i++) {
            managers.add(manager(etcd.newClient(), namespace, LOCK_LEASE));
        }
        this.raw = new RawEtcd(etcd.newClient(), namespace);
        this.sampler = new Thread(this::sample, "storm-sampler");
        sampler.setDaemon(true);
    }

    /**
     * Loads the counters and starts the storm: {@code clients} managers, {@code threads} threads, each thread doing
     * at most {@code opsPerThread} calls within {@code timeBudget}.
     */
    static QuotaStorm start(EtcdCluster etcd, String namespace, int clients, int threads, long opsPerThread,
                            Duration timeBudget) {
        QuotaStorm storm = new QuotaStorm(etcd, namespace, clients, threads, opsPerThread, timeBudget);
        for (String account : ACCOUNTS) {
            storm.managers.get(0).refresh(account, true);
            for (String resource : RESOURCES) {
                storm.ledger.start(QuotaLedger.counter(account, resource), storm.raw.used(account, resource));
            }
        }
        storm.sampler.start();
        storm.start();
        return storm;
    }

    /** A manager as the fault tests configure it: short lease and timeouts, a quick health probe. */
    static QuotaManager manager(Client client, String namespace, Duration lockLease) {
        return manager(client, namespace, lockLease, OPERATION_TIMEOUT, new MutableHandler(START_USED, QUOTA));
    }

    /** The same, with every resource's figures from {@code handler}. */
    static QuotaManager manager(Client client, String namespace, Duration lockLease, Duration operationTimeout,
                                UsedQuotaHandler handler) {
        QuotaManager.Builder builder = QuotaManager.builder(client)
                .namespace(namespace)
                .lockLeaseTime(lockLease)
                .operationTimeout(operationTimeout)
                .healthCheckInterval(Duration.ofMillis(200))
                .cacheTtl(Duration.ofHours(1));
        RESOURCES.forEach(resource -> builder.resource(resource, handler));
        return builder.build();
    }

    @Override
    protected void step(ThreadLocalRandom random) {
        QuotaManager quota = managers.get(random.nextInt(managers.size()));
        String account = ACCOUNTS.get(random.nextInt(ACCOUNTS.size()));
        int dice = random.nextInt(100);
        if (dice < 70) {
            reserve(quota, account, random, dice < 50);
        } else {
            clean(quota, account, random);
        }
    }

    private void reserve(QuotaManager quota, String account, ThreadLocalRandom random, boolean keep) {
        Map<String, Long> amounts = new LinkedHashMap<>();
        int which = random.nextInt(3); // one resource, the other, or both: all-or-nothing across them
        for (int i = 0; i < RESOURCES.size(); i++) {
            if (which == i || which == RESOURCES.size()) {
                amounts.put(RESOURCES.get(i), (long) random.nextInt(1, 4));
            }
        }
        Reservation reservation;
        try {
            reservation = quota.prepareOccupying(account, amounts);
        } catch (QuotaExceededException e) {
            outcome("exceeded");
            return;
        } catch (QuotaUnavailableException e) {
            ledger.unknown("reserve", account, amounts, +1);
            unavailable("reserveUnknown");
            return;
        }
        ledger.reserved(account, amounts);
        success();
        try (reservation) {
            if (keep) {
                ledger.kept(account, amounts);
                outcome("kept");
                return;
            }
            ledger.releasing(account, amounts);
            try {
                reservation.rollback();
                ledger.released(account, amounts);
                outcome("rolledBack");
            } catch (QuotaUnavailableException e) {
                ledger.unknown("rollback", account, amounts, -1);
                unavailable("rollbackUnknown");
            }
        }
    }

    private void clean(QuotaManager quota, String account, ThreadLocalRandom random) {
        Map<String, Long> taken = new LinkedHashMap<>();
        for (String resource : RESOURCES) {
            long amount = ledger.takeCommitted(account, resource, random.nextInt(1, 4));
            if (amount > 0) {
                taken.put(resource, amount);
            }
        }
        if (taken.isEmpty()) {
            outcome("nothingToClean");
            return;
        }
        ledger.releasing(account, taken);
        try {
            quota.cleanUsed(account, taken);
            ledger.released(account, taken);
            outcome("cleaned");
            success();
        } catch (QuotaUnavailableException e) {
            ledger.unknown("clean", account, taken, -1);
            unavailable("cleanUnknown");
        }
    }

    /** Reads the raw counters every few milliseconds and keeps the highest value seen of each. */
    private void sample() {
        while (sampling) {
            for (String account : ACCOUNTS) {
                for (String resource : RESOURCES) {
                    try {
                        long used = raw.used(account, resource);
                        rawPeak.computeIfAbsent(QuotaLedger.counter(account, resource), k -> new AtomicLong())
                                .accumulateAndGet(used, Math::max);
                    } catch (Throwable unreachable) {
                        // etcd is down for the fault; the next sample reads again
                    }
                }
            }
            try {
                Thread.sleep(SAMPLE_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Stops the storm and checks its invariants: never over quota (raw samples, final counters and the ledger's
     * lower bound), no lost or doubled update (each counter is start + known + a subset of the unknown outcomes),
     * nothing unexpected thrown, and no account lock left once the leases of failed releases have run out.
     * Reports what it found through {@code log}.
     */
    void stopAndVerify(Consumer<String> log) throws Exception {
        stop();
        sampling = false;
        sampler.join(TestTimeouts.step().toMillis());
        log.accept("storm outcomes " + outcomes() + ", " + ledger.unknowns().size() + " unknown outcome(s)");
        assertThat(unexpected()).as("unexpected failures of the storm").isEmpty();
        assertThat(outcome("kept", 0) + outcome("rolledBack", 0)).as("reservations that succeeded").isPositive();
        List<String> mismatches = new ArrayList<>();
        for (String counter : ledger.counters()) {
            String[] parts = counter.split("/");
            long actual = raw.used(parts[0], parts[1]);
            long peak = Math.max(actual, rawPeak.getOrDefault(counter, new AtomicLong()).get());
            assertThat(peak).as("highest raw value of counter %s", counter).isLessThanOrEqualTo(QUOTA);
            assertThat(ledger.lowerBoundPeak(counter)).as("highest ledger figure of %s", counter)
                    .isLessThanOrEqualTo(QUOTA);
            String explained = ledger.explain(counter, actual);
            if (explained == null) {
                mismatches.add(counter + " = " + actual + " but the ledger says " + ledger.known(counter, true)
                        + " plus some of " + ledger.unknowns());
            } else {
                log.accept(explained);
            }
        }
        assertThat(mismatches).as("counters the ledger cannot explain (lost or doubled updates)").isEmpty();
        Faults.awaitNoAccountLocks(raw, LOCK_LEASE);
    }

    QuotaLedger ledger() {
        return ledger;
    }

    RawEtcd raw() {
        return raw;
    }

    String namespace() {
        return namespace;
    }

    @Override
    public void close() {
        super.close();
        sampling = false;
        managers.forEach(QuotaManager::close);
    }
}
