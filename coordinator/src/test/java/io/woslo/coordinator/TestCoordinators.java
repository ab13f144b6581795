package io.woslo.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.woslo.quota.QuotaKeys;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/** Coordinators started in the test JVM on free ports, each test class on its own namespace, and raw etcd reads. */
final class TestCoordinators {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();

    private TestCoordinators() {
    }

    static String freshNamespace(String label) {
        return "/" + label + "-" + UUID.randomUUID();
    }

    /** A config from YAML, as the file would give it. */
    static CoordinatorConfig config(String yaml) {
        try {
            return CoordinatorConfig.parse(YAML.readTree(yaml));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A coordinator on a free loopback port over {@code etcd}, with the given resources block (YAML). */
    static Coordinator start(EtcdCluster etcd, String namespace, String token, String resourcesYaml) {
        String yaml = "http: { host: 127.0.0.1, port: 0, token: \"" + (token == null ? "" : token) + "\" }\n"
                + "etcd: { endpoints: \"" + etcd.endpointList() + "\", namespace: " + namespace + " }\n"
                + "quota:\n  cacheTtl: 3m\n  lockLeaseTime: 30s\n  resources:\n" + resourcesYaml.indent(4);
        return Coordinator.start(config(yaml), Path.of("target"));
    }

    /**
     * A coordinator with the seed's resources and the given {@code quota:} settings (YAML lines such as
     * {@code "operationTimeout: 2s"}), whose etcd client passes through {@code interceptors}.
     */
    static Coordinator startSeed(EtcdCluster etcd, String namespace, List<String> quotaSettings,
                                 List<io.grpc.ClientInterceptor> interceptors) {
        String yaml = "http: { host: 127.0.0.1, port: 0 }\n"
                + "etcd: { endpoints: \"" + etcd.endpointList() + "\", namespace: " + namespace + " }\n"
                + "quota:\n" + String.join("\n", quotaSettings).indent(2) + "  resources:\n" + SEED_RESOURCES.indent(4);
        return Coordinator.start(config(yaml), Path.of("target"), interceptors);
    }

    /** The seed's four resources with fixed figures. */
    static final String SEED_RESOURCES = """
            CPUA: { source: static, used: 10, quota: 20 }
            CPUB: { source: static, used: 0, quota: 20 }
            CPUC: { source: static, used: 18, quota: 20 }
            CPUD: { source: static, used: 20, quota: 20 }
            """;

    /** The raw counter JSON at {@code <ns>/quota/<account>/<resource>}, or null when absent. */
    static JsonNode counter(Client raw, String namespace, String account, String resource) {
        List<KeyValue> kvs = get(raw, QuotaKeys.counter(namespace, account, resource), false);
        try {
            return kvs.isEmpty() ? null : JSON.readTree(kvs.get(0).getValue().getBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The number of keys under {@code prefix}. */
    static int keysUnder(Client raw, String prefix) {
        return get(raw, prefix, true).size();
    }

    /**
     * Every key under {@code namespace} with its value and mod revision, as one raw read sees them: two equal
     * snapshots mean nothing was written in between.
     */
    static java.util.SortedMap<String, String> snapshot(Client raw, String namespace) {
        java.util.SortedMap<String, String> out = new java.util.TreeMap<>();
        for (KeyValue kv : get(raw, namespace + "/", true)) {
            out.put(kv.getKey().toString(UTF_8), kv.getModRevision() + " " + kv.getValue().toString(UTF_8));
        }
        return out;
    }

    private static List<KeyValue> get(Client raw, String key, boolean prefix) {
        try {
            return raw.getKVClient().get(ByteSequence.from(key, UTF_8), GetOption.builder().isPrefix(prefix).build())
                    .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getKvs();
        } catch (Exception e) {
            throw new IllegalStateException("raw etcd read of " + key + " failed", e);
        }
    }
}
