package io.woslo.coordinator;

import io.grpc.ClientInterceptor;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;

/**
 * The coordinator's meter registry: the JVM's and the process's meters (memory, GC, threads, class loading, CPU,
 * open files, uptime), {@code woslo.build.info{version}} (always 1), and the timer of etcd calls, installed on the
 * etcd client through {@link #withEtcdTimer}. The library's and the HTTP server's meters register on the same
 * registry. {@link #close()} stops the GC listener.
 */
final class CoordinatorMetrics implements AutoCloseable {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gc = new JvmGcMetrics();

    CoordinatorMetrics() {
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        Gauge.builder("woslo.build.info", () -> 1)
                .description("the coordinator's version (the value is always 1)")
                .tag("version", BuildInfo.version())
                .register(registry);
    }

    PrometheusMeterRegistry registry() {
        return registry;
    }

    /** {@code interceptors} with the timer of etcd calls after them (so it sees what they let through). */
    List<ClientInterceptor> withEtcdTimer(List<ClientInterceptor> interceptors) {
        List<ClientInterceptor> all = new ArrayList<>(interceptors);
        all.add(0, new EtcdCallMetrics(registry));
        return all;
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
