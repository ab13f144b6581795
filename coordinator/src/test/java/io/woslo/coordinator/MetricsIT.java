package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.util.Arrays;
import java.util.OptionalDouble;
import java.util.stream.DoubleStream;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /metrics} carries the JVM's and the process's meters, {@code woslo_build_info}, the timer of etcd
 * calls by method, and after a reservation the quota and lock meters it moved, under the names docs/api.md lists.
 */
@WithEtcd
class MetricsIT {
    @Test
    void aReservationShowsInTheQuotaLockAndEtcdMetricsBesideTheJvmOnes(EtcdCluster etcd) {
        try (Coordinator coordinator = TestCoordinators.start(etcd, TestCoordinators.freshNamespace("metrics"), null,
                "CPUA: { source: static, used: 1, quota: 5 }")) {
            Http http = new Http(coordinator.baseUrl());
            String before = http.get("/metrics").body();
            assertThat(sample(before, "woslo_lock_acquisitions_total", "mode=\"read\"")).as("registered at start")
                    .hasValue(0);
            assertThat(sample(before, "woslo_quota_reservations_seconds_count", "outcome=\"reserved\"")).isEmpty();

            Http.Response made = http.postJson("/v1/reservations", "{\"account\":\"a\",\"resources\":{\"CPUA\":1}}");
            assertThat(made.status()).as(made.toString()).isEqualTo(201);

            Http.Response metrics = http.get("/metrics");
            assertThat(metrics.status()).isEqualTo(200);
            String text = metrics.body();
            assertThat(sample(text, "woslo_build_info", "version=\"" + BuildInfo.version() + "\"")).hasValue(1);
            assertThat(samples(text, "jvm_memory_used_bytes", "area=\"heap\"").sum()).isPositive();
            assertThat(sample(text, "jvm_threads_live_threads", "").orElse(0)).isPositive();
            assertThat(sample(text, "process_uptime_seconds", "").orElse(0)).isPositive();
            assertThat(sample(text, "system_cpu_count", "").orElse(0)).isPositive();
            assertThat(text).contains("jvm_gc_").contains("process_cpu_usage");

            assertThat(sample(text, "woslo_quota_reservations_seconds_count", "outcome=\"reserved\"")).hasValue(1);
            assertThat(sample(text, "woslo_lock_acquisitions_total", "mode=\"read\"")).as("the reservation's entry")
                    .hasValue(1);
            assertThat(sample(text, "woslo_lock_losses_total", "mode=\"read\"")).hasValue(0);
            assertThat(sample(text, "woslo_lock_waits_seconds_count", "mode=\"write\"", "outcome=\"timeout\""))
                    .hasValue(0);
            assertThat(sample(text, "woslo_etcd_requests_seconds_count", "method=\"Txn\"", "status=\"OK\"")
                    .orElse(0)).as("the reservation's transaction").isPositive();
            assertThat(sample(text, "woslo_etcd_requests_seconds_count", "method=\"Range\"", "status=\"OK\"")
                    .orElse(0)).isPositive();
            assertThat(text).contains("woslo_etcd_requests_seconds_bucket{method=\"Txn\",status=\"OK\",le=\"0.005\"}");
            assertThat(text).as("streams are not timed").doesNotContain("method=\"Watch\"")
                    .doesNotContain("method=\"LeaseKeepAlive\"");
            assertThat(sample(text, "woslo_http_requests_seconds_count", "route=\"/v1/reservations\"",
                    "status=\"201\"")).hasValue(1);
            assertThat(sample(text, "woslo_etcd_healthy", "")).hasValue(1);
        }
    }

    /** The value of the one sample of {@code name} whose labels include every one of {@code labels}. */
    static OptionalDouble sample(String text, String name, String... labels) {
        return samples(text, name, labels).reduce((a, b) -> {
                    throw new AssertionError("more than one sample of " + name + " with " + Arrays.toString(labels));
                });
    }

    /** The values of the samples of {@code name} whose labels include every one of {@code labels}. */
    static DoubleStream samples(String text, String name, String... labels) {
        return Arrays.stream(text.split("\n"))
                .filter(line -> line.startsWith(name + "{") || line.startsWith(name + " "))
                .filter(line -> Arrays.stream(labels).allMatch(label -> label.isEmpty() || line.contains(label)))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
    }
}
