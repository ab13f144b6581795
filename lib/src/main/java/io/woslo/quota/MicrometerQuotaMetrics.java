package io.woslo.quota;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicInteger;

/** {@link QuotaMetrics} on a Micrometer registry; loaded only when one is configured. */
final class MicrometerQuotaMetrics implements QuotaMetrics {
    private final MeterRegistry registry;
    private final AtomicInteger healthy = new AtomicInteger(1);

    MicrometerQuotaMetrics(MeterRegistry registry) {
        this.registry = registry;
        registry.gauge("woslo.etcd.healthy", healthy);
    }

    @Override
    public void reservation(String outcome) {
        Counter.builder("woslo.quota.reservations").tag("outcome", outcome)
                .description("quota reservations by outcome").register(registry).increment();
    }

    @Override
    public void overQuota(String account, String resource) {
        Counter.builder("woslo.quota.over.quota").tag("resource", resource)
                .description("accounts found over quota by the periodic scan").register(registry).increment();
    }

    @Override
    public void etcdHealthy(boolean isHealthy) {
        healthy.set(isHealthy ? 1 : 0);
    }
}
