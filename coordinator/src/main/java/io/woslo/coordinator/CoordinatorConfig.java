package io.woslo.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import io.woslo.quota.FailureMode;
import io.woslo.quota.QuotaManager;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The coordinator's settings, in the shape of CONTRACT.md §5:
 *
 * <pre>{@code
 * http:  { host: 127.0.0.1, port: 7070, token: "" }
 * etcd:  { endpoints: ["http://127.0.0.1:2379"], namespace: /woslo }
 * quota: { cacheTtl: 3m, lockLeaseTime: 1m, operationTimeout: 10s, failureMode: closed, healthCheckInterval: 1s,
 *          idempotencyWindow: 24h, resources: { CPUA: { source: static, used: 10, quota: 20 } } }
 * }</pre>
 *
 * No etcd endpoint means: start a local etcd. {@link #validate()} checks the combinations.
 */
public record CoordinatorConfig(String host, int port, String token, List<String> etcdEndpoints, String namespace,
                                Duration cacheTtl, Duration lockLeaseTime, Duration operationTimeout,
                                FailureMode failureMode, Duration healthCheckInterval, Duration idempotencyWindow,
                                Map<String, ResourceSource> resources) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 7070;
    public static final String DEFAULT_NAMESPACE = "/woslo";
    public static final Duration DEFAULT_CACHE_TTL = Duration.ofMinutes(3);
    public static final Duration DEFAULT_LOCK_LEASE_TIME = Duration.ofMinutes(1);
    public static final Duration DEFAULT_OPERATION_TIMEOUT = QuotaManager.DEFAULT_OPERATION_TIMEOUT;
    public static final Duration DEFAULT_HEALTH_CHECK_INTERVAL = QuotaManager.DEFAULT_HEALTH_CHECK_INTERVAL;
    public static final Duration DEFAULT_IDEMPOTENCY_WINDOW = QuotaManager.DEFAULT_IDEMPOTENCY_WINDOW;

    public CoordinatorConfig {
        token = token == null ? "" : token;
        etcdEndpoints = List.copyOf(etcdEndpoints);
        resources = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(resources));
    }

    /** Reads a YAML file; an error names the file and the bad setting. */
    public static CoordinatorConfig load(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage(), e);
        }
        try {
            return parse(root);
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage(), e);
        }
    }

    /** Reads a parsed YAML (or JSON) tree. */
    static CoordinatorConfig parse(JsonNode root) {
        ConfigNode top = new ConfigNode("", root).only(Set.of("http", "etcd", "quota"));
        ConfigNode http = top.object("http").only(Set.of("host", "port", "token"));
        ConfigNode etcd = top.object("etcd").only(Set.of("endpoints", "namespace"));
        ConfigNode quota = top.object("quota").only(Set.of("cacheTtl", "lockLeaseTime", "operationTimeout",
                "failureMode", "healthCheckInterval", "idempotencyWindow", "resources"));
        Map<String, ResourceSource> resources = new LinkedHashMap<>();
        quota.object("resources").children().forEach((name, node) -> resources.put(name, ResourceSource.parse(node)));
        return new CoordinatorConfig(
                http.text("host", DEFAULT_HOST),
                http.port("port", DEFAULT_PORT),
                http.text("token", ""),
                Endpoints.validate("etcd.endpoints", etcd.textList("endpoints")),
                etcd.text("namespace", DEFAULT_NAMESPACE),
                quota.duration("cacheTtl", DEFAULT_CACHE_TTL),
                quota.duration("lockLeaseTime", DEFAULT_LOCK_LEASE_TIME),
                quota.duration("operationTimeout", DEFAULT_OPERATION_TIMEOUT),
                failureMode(quota.text("failureMode", "closed")),
                quota.duration("healthCheckInterval", DEFAULT_HEALTH_CHECK_INTERVAL),
                quota.duration("idempotencyWindow", DEFAULT_IDEMPOTENCY_WINDOW),
                resources);
    }

    /** Defaults only, no resources: the base when no file is given. */
    static CoordinatorConfig defaults() {
        return new CoordinatorConfig(DEFAULT_HOST, DEFAULT_PORT, "", List.of(), DEFAULT_NAMESPACE,
                DEFAULT_CACHE_TTL, DEFAULT_LOCK_LEASE_TIME, DEFAULT_OPERATION_TIMEOUT, FailureMode.CLOSED,
                DEFAULT_HEALTH_CHECK_INTERVAL, DEFAULT_IDEMPOTENCY_WINDOW, Map.of());
    }

    CoordinatorConfig withPort(int newPort) {
        return new CoordinatorConfig(host, newPort, token, etcdEndpoints, namespace, cacheTtl, lockLeaseTime,
                operationTimeout, failureMode, healthCheckInterval, idempotencyWindow, resources);
    }

    CoordinatorConfig withEtcdEndpoints(List<String> endpoints) {
        return new CoordinatorConfig(host, port, token, endpoints, namespace, cacheTtl, lockLeaseTime,
                operationTimeout, failureMode, healthCheckInterval, idempotencyWindow, resources);
    }

    CoordinatorConfig withNamespace(String ns) {
        return new CoordinatorConfig(host, port, token, etcdEndpoints, ns, cacheTtl, lockLeaseTime,
                operationTimeout, failureMode, healthCheckInterval, idempotencyWindow, resources);
    }

    CoordinatorConfig withToken(String newToken) {
        return new CoordinatorConfig(host, port, newToken, etcdEndpoints, namespace, cacheTtl, lockLeaseTime,
                operationTimeout, failureMode, healthCheckInterval, idempotencyWindow, resources);
    }

    CoordinatorConfig withResource(String name, ResourceSource source) {
        Map<String, ResourceSource> more = new LinkedHashMap<>(resources);
        more.put(name, source);
        return new CoordinatorConfig(host, port, token, etcdEndpoints, namespace, cacheTtl, lockLeaseTime,
                operationTimeout, failureMode, healthCheckInterval, idempotencyWindow, more);
    }

    private static FailureMode failureMode(String text) {
        return switch (text) {
            case "closed" -> FailureMode.CLOSED;
            case "open" -> FailureMode.OPEN;
            default -> throw new ConfigException("quota.failureMode must be 'closed' or 'open', got '" + text + "'");
        };
    }

    /** Whether a token guards the endpoints. */
    boolean tokenRequired() {
        return !token.isEmpty();
    }

    /**
     * Checks the combinations: at least one resource, a namespace starting with "/", a token that is not only
     * whitespace, and a token whenever the host is not a loopback address.
     */
    public CoordinatorConfig validate() {
        if (resources.isEmpty()) {
            throw new ConfigException("quota.resources: at least one resource is needed, e.g."
                    + " CPUA: { source: static, used: 10, quota: 20 }");
        }
        if (namespace == null || !namespace.startsWith("/") || namespace.length() < 2 || namespace.endsWith("/")) {
            throw new ConfigException("etcd.namespace: '" + namespace + "' must start with '/' and not end with it,"
                    + " e.g. /woslo");
        }
        if (tokenRequired() && token.isBlank()) {
            throw new ConfigException("http.token: the token is blank (only whitespace), which no request could"
                    + " present; set a real token or none (http.token, --token or WOSLO_TOKEN)");
        }
        if (!tokenRequired() && !isLoopback(host)) {
            throw new ConfigException("http.host: '" + host + "' is not a loopback address; refusing to listen on it"
                    + " without a bearer token (set http.token, --token or WOSLO_TOKEN)");
        }
        return this;
    }

    private static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new ConfigException("http.host: '" + host + "' is not a known host name or address");
        }
    }

    @Override
    public String toString() {
        return "CoordinatorConfig[host=" + host + ", port=" + port + ", token=" + (tokenRequired() ? "***" : "none")
                + ", etcd=" + (etcdEndpoints.isEmpty() ? "local" : etcdEndpoints) + ", namespace=" + namespace
                + ", cacheTtl=" + cacheTtl + ", lockLeaseTime=" + lockLeaseTime + ", resources=" + resources.keySet()
                + "]";
    }
}
