package io.woslo.quota;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@link QuotaMetrics} on a Micrometer registry; loaded only when one is configured. Label values come from closed
 * sets: the outcomes {@link QuotaManager} names and the configured resources.
 */
final class MicrometerQuotaMetrics implements QuotaMetrics {
    private final MeterRegistry registry;
    private final AtomicInteger healthy = new AtomicInteger(1);
    private final Map<String, Timer> reservations = new ConcurrentHashMap<>();
    private final Map<String, Counter> overQuota = new ConcurrentHashMap<>();

    MicrometerQuotaMetrics(MeterRegistry registry) {
        this.registry = registry;
        registry.gauge("woslo.etcd.healthy", healthy);
    }

    @Override
    public void reservation(String outcome, long nanos) {
        reservations.computeIfAbsent(outcome, o -> Timer.builder("woslo.quota.reservations").tag("outcome", o)
                        .description("quota reservations by outcome, timed from the call to its answer")
                        .register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void overQuota(String account, String resource) {
        overQuota.computeIfAbsent(resource, r -> Counter.builder("woslo.quota.over.quota").tag("resource", r)
                        .description("accounts found over quota by the periodic scan").register(registry))
                .increment();
    }

    @Override
    public void etcdHealthy(boolean isHealthy) {
        healthy.set(isHealthy ? 1 : 0);
    }
}
