package io.woslo.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.woslo.quota.FailureMode;
import io.woslo.quota.QuotaManager;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The coordinator's settings, in the shape docs/api.md describes, one nested record per section of the file:
 *
 * <pre>{@code
 * http:  { host: 127.0.0.1, port: 7070, token: "", tokenFile: "" }
 * etcd:  { endpoints: ["http://127.0.0.1:2379"], namespace: /woslo, local: false,
 *          user: woslo, passwordFile: /run/secrets/etcd, tls: { ca: ca.pem, cert: client.pem, key: client-key.pem } }
 * quota: { cacheTtl: 3m, lockLeaseTime: 1m, operationTimeout: 10s, failureMode: closed, healthCheckInterval: 1s,
 *          idempotencyWindow: 24h, resources: { CPUA: { source: static, used: 10, quota: 20 } } }
 * }</pre>
 *
 * A local etcd is started only when asked ({@code etcd.local: true} or {@code --local-etcd}); no endpoint and not
 * asked is an error. Relative file names ({@code tokenFile}, {@code passwordFile}, {@code tls}) are resolved against
 * the config file's directory. {@code WOSLO_ETCD_USER} and {@code WOSLO_ETCD_PASSWORD} override the file's user and
 * password (see {@link CommandLine}); a password is never taken from a flag. {@link #validate()} checks the
 * combinations.
 */
public record CoordinatorConfig(Http http, Etcd etcd, Quota quota) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 7070;
    public static final String DEFAULT_NAMESPACE = "/woslo";
    public static final Duration DEFAULT_CACHE_TTL = Duration.ofMinutes(3);
    public static final Duration DEFAULT_LOCK_LEASE_TIME = Duration.ofMinutes(1);
    public static final Duration DEFAULT_OPERATION_TIMEOUT = QuotaManager.DEFAULT_OPERATION_TIMEOUT;
    public static final Duration DEFAULT_HEALTH_CHECK_INTERVAL = QuotaManager.DEFAULT_HEALTH_CHECK_INTERVAL;
    public static final Duration DEFAULT_IDEMPOTENCY_WINDOW = QuotaManager.DEFAULT_IDEMPOTENCY_WINDOW;
    static final String NO_ENDPOINT = "no etcd endpoint: set etcd.endpoints, --etcd or WOSLO_ETCD_ENDPOINTS, or ask"
            + " for a local etcd with etcd.local: true / --local-etcd";

    /** {@code http:} where and how the API listens; {@code token} empty means no token is required. */
    public record Http(String host, int port, String token) {
        public Http {
            token = token == null ? "" : token;
        }

        @Override
        public String toString() {
            return "Http[host=" + host + ", port=" + port + ", token=" + (token.isEmpty() ? "none" : "***") + "]";
        }
    }

    /**
     * {@code etcd:} the cluster and how to reach it. {@code endpoints} empty with {@code local} means: a local etcd
     * of the coordinator's own. {@code user} authenticates with {@code password} or the content of
     * {@code passwordFile} (read at start); {@code tls} gives the CA to trust and the client certificate and key.
     */
    public record Etcd(List<String> endpoints, String namespace, boolean local, String user, String password,
                       Path passwordFile, Tls tls) {
        public Etcd {
            endpoints = List.copyOf(endpoints);
            user = user == null ? "" : user;
            password = password == null ? "" : password;
            tls = tls == null ? Tls.NONE : tls;
        }

        Etcd withEndpoints(List<String> newEndpoints) {
            return new Etcd(newEndpoints, namespace, false, user, password, passwordFile, tls);
        }

        Etcd withUser(String newUser) {
            return new Etcd(endpoints, namespace, local, newUser, password, passwordFile, tls);
        }

        /** This password instead of the file's password or password file. */
        Etcd withPassword(String newPassword) {
            return new Etcd(endpoints, namespace, local, user, newPassword, null, tls);
        }

        @Override
        public String toString() {
            return "Etcd[" + (local ? "local" : endpoints) + ", namespace=" + namespace
                    + (user.isEmpty() ? "" : ", user=" + user + ", password=***")
                    + (tls.configured() ? ", " + tls : "") + "]";
        }
    }

    /** {@code etcd.tls:} the CA to trust and the client certificate and key; each may be null. */
    public record Tls(Path ca, Path cert, Path key) {
        static final Tls NONE = new Tls(null, null, null);

        boolean configured() {
            return ca != null || cert != null || key != null;
        }
    }

    /**
     * {@code quota:} the library's settings, where each resource's figures come from, and the accounts loaded at
     * start ({@code accounts}, the seed's {@code InitResourceQuotaData}: each is refreshed from its sources once the
     * coordinator listens, so it is listed and shown before anyone reserves; none by default).
     */
    public record Quota(Duration cacheTtl, Duration lockLeaseTime, Duration operationTimeout, FailureMode failureMode,
                        Duration healthCheckInterval, Duration idempotencyWindow,
                        Map<String, ResourceSource> resources, List<String> accounts) {
        public Quota {
            resources = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(resources));
            accounts = List.copyOf(accounts);
        }
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
            Path dir = file.toAbsolutePath().getParent();
            return parse(root, dir == null ? Path.of("") : dir);
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage(), e);
        }
    }

    /** Reads a parsed YAML (or JSON) tree; relative file names are resolved against the working directory. */
    static CoordinatorConfig parse(JsonNode root) {
        return parse(root, Path.of(""));
    }

    private static CoordinatorConfig parse(JsonNode root, Path baseDir) {
        ConfigNode top = new ConfigNode("", root).only(Set.of("http", "etcd", "quota"));
        ConfigNode http = top.object("http").only(Set.of("host", "port", "token", "tokenFile"));
        ConfigNode etcd = top.object("etcd").only(Set.of("endpoints", "namespace", "local", "user", "password",
                "passwordFile", "tls"));
        ConfigNode tls = etcd.object("tls").only(Set.of("ca", "cert", "key"));
        ConfigNode quota = top.object("quota").only(Set.of("cacheTtl", "lockLeaseTime", "operationTimeout",
                "failureMode", "healthCheckInterval", "idempotencyWindow", "resources", "accounts"));
        Map<String, ResourceSource> resources = new LinkedHashMap<>();
        quota.object("resources").children().forEach((name, node) -> resources.put(name, ResourceSource.parse(node)));
        return new CoordinatorConfig(
                new Http(http.text("host", DEFAULT_HOST), http.port("port", DEFAULT_PORT), token(http, baseDir)),
                etcd(etcd, tls, baseDir),
                new Quota(
                        quota.duration("cacheTtl", DEFAULT_CACHE_TTL),
                        quota.duration("lockLeaseTime", DEFAULT_LOCK_LEASE_TIME),
                        quota.duration("operationTimeout", DEFAULT_OPERATION_TIMEOUT),
                        failureMode(quota.text("failureMode", "closed")),
                        quota.duration("healthCheckInterval", DEFAULT_HEALTH_CHECK_INTERVAL),
                        quota.duration("idempotencyWindow", DEFAULT_IDEMPOTENCY_WINDOW),
                        resources, accounts(quota)));
    }

    /** {@code quota.accounts}: a list of account names, each checked as the library checks a name. */
    private static List<String> accounts(ConfigNode quota) {
        return quota.nameList("accounts", "account");
    }

    /** {@code http.token}, or the first line-trimmed content of {@code http.tokenFile}; not both. */
    private static String token(ConfigNode http, Path baseDir) {
        return Tokens.fromSettings(http.text("token", ""), http.path("tokenFile", baseDir));
    }

    private static Etcd etcd(ConfigNode etcd, ConfigNode tls, Path baseDir) {
        List<String> endpoints = Endpoints.validate("etcd.endpoints", etcd.textList("endpoints"));
        boolean local = etcd.bool("local", false);
        if (local && !endpoints.isEmpty()) {
            throw new ConfigException("etcd.local: true and etcd.endpoints " + endpoints + " exclude each other;"
                    + " keep one");
        }
        String user = etcd.text("user", "").strip();
        String password = etcd.text("password", "");
        Path passwordFile = etcd.readableFile("passwordFile", baseDir);
        if (!password.isEmpty() && passwordFile != null) {
            throw new ConfigException("etcd.password and etcd.passwordFile are both set; keep one");
        }
        Tls certs = new Tls(tls.readableFile("ca", baseDir), tls.readableFile("cert", baseDir),
                tls.readableFile("key", baseDir));
        if ((certs.cert() == null) != (certs.key() == null)) {
            throw new ConfigException("etcd.tls: cert and key go together; only " + (certs.cert() == null
                    ? "key" : "cert") + " is set");
        }
        return new Etcd(endpoints, etcd.text("namespace", DEFAULT_NAMESPACE), local, user, password, passwordFile,
                certs);
    }

    /** Defaults only, no resources, no etcd: the base when no file is given. */
    static CoordinatorConfig defaults() {
        return new CoordinatorConfig(new Http(DEFAULT_HOST, DEFAULT_PORT, ""),
                new Etcd(List.of(), DEFAULT_NAMESPACE, false, "", "", null, Tls.NONE),
                new Quota(DEFAULT_CACHE_TTL, DEFAULT_LOCK_LEASE_TIME, DEFAULT_OPERATION_TIMEOUT, FailureMode.CLOSED,
                        DEFAULT_HEALTH_CHECK_INTERVAL, DEFAULT_IDEMPOTENCY_WINDOW, Map.of(), List.of()));
    }

    // Shortcuts used across the coordinator.

    public String host() {
        return http.host();
    }

    public int port() {
        return http.port();
    }

    public String token() {
        return http.token();
    }

    public List<String> etcdEndpoints() {
        return etcd.endpoints();
    }

    public String namespace() {
        return etcd.namespace();
    }

    /** Whether the coordinator starts an etcd of its own (asked for, and no endpoint given). */
    public boolean localEtcd() {
        return etcd.local();
    }

    public Duration cacheTtl() {
        return quota.cacheTtl();
    }

    public Duration lockLeaseTime() {
        return quota.lockLeaseTime();
    }

    public Duration operationTimeout() {
        return quota.operationTimeout();
    }

    public FailureMode failureMode() {
        return quota.failureMode();
    }

    public Duration healthCheckInterval() {
        return quota.healthCheckInterval();
    }

    public Duration idempotencyWindow() {
        return quota.idempotencyWindow();
    }

    public Map<String, ResourceSource> resources() {
        return quota.resources();
    }

    /** The accounts loaded at start ({@code quota.accounts}). */
    public List<String> accounts() {
        return quota.accounts();
    }

    // Copies with one setting changed (the command line and the environment apply theirs with these).

    CoordinatorConfig withHost(String newHost) {
        return new CoordinatorConfig(new Http(newHost, http.port(), http.token()), etcd, quota);
    }

    CoordinatorConfig withPort(int newPort) {
        return new CoordinatorConfig(new Http(http.host(), newPort, http.token()), etcd, quota);
    }

    CoordinatorConfig withToken(String newToken) {
        return new CoordinatorConfig(new Http(http.host(), http.port(), newToken), etcd, quota);
    }

    /** These endpoints instead of the file's, and no local etcd. */
    CoordinatorConfig withEtcdEndpoints(List<String> endpoints) {
        return new CoordinatorConfig(http, etcd.withEndpoints(endpoints), quota);
    }

    /** A local etcd instead of the file's endpoints. */
    CoordinatorConfig withLocalEtcd() {
        return new CoordinatorConfig(http, new Etcd(List.of(), etcd.namespace(), true, etcd.user(), etcd.password(),
                etcd.passwordFile(), etcd.tls()), quota);
    }

    CoordinatorConfig withEtcdUser(String user) {
        return new CoordinatorConfig(http, etcd.withUser(user.strip()), quota);
    }

    /** This etcd password instead of the file's {@code etcd.password} or {@code etcd.passwordFile}. */
    CoordinatorConfig withEtcdPassword(String password) {
        return new CoordinatorConfig(http, etcd.withPassword(password), quota);
    }

    CoordinatorConfig withNamespace(String ns) {
        return new CoordinatorConfig(http, new Etcd(etcd.endpoints(), ns, etcd.local(), etcd.user(), etcd.password(),
                etcd.passwordFile(), etcd.tls()), quota);
    }

    CoordinatorConfig withResource(String name, ResourceSource source) {
        Map<String, ResourceSource> more = new LinkedHashMap<>(quota.resources());
        more.put(name, source);
        return new CoordinatorConfig(http, etcd, new Quota(quota.cacheTtl(), quota.lockLeaseTime(),
                quota.operationTimeout(), quota.failureMode(), quota.healthCheckInterval(), quota.idempotencyWindow(),
                more, quota.accounts()));
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
        return !http.token().isEmpty();
    }

    /**
     * Checks the combinations: at least one resource, a namespace starting with "/", an etcd endpoint or a local
     * etcd asked for, an etcd user with a password and the other way round, TLS files in the PEM form Netty reads
     * and only with {@code https://} endpoints (not with a local etcd), and a token whenever the host is not a
     * loopback address.
     */
    public CoordinatorConfig validate() {
        if (resources().isEmpty()) {
            throw new ConfigException("quota.resources: at least one resource is needed, e.g."
                    + " CPUA: { source: static, used: 10, quota: 20 }");
        }
        String namespace = namespace();
        if (namespace == null || !namespace.startsWith("/") || namespace.length() < 2 || namespace.endsWith("/")) {
            throw new ConfigException("etcd.namespace: '" + namespace + "' must start with '/' and not end with it,"
                    + " e.g. /woslo");
        }
        if (etcdEndpoints().isEmpty() && !localEtcd()) {
            throw new ConfigException(NO_ENDPOINT);
        }
        validateEtcdSecurity();
        Tokens.check("http.token", token());
        if (!tokenRequired() && !isLoopback(host())) {
            throw new ConfigException("http.host: '" + host() + "' is not a loopback address; refusing to listen on"
                    + " it without a bearer token (set http.token, http.tokenFile, --token or WOSLO_TOKEN)");
        }
        return this;
    }

    private void validateEtcdSecurity() {
        boolean hasPassword = !etcd.password().isEmpty() || etcd.passwordFile() != null;
        if (etcd.user().isEmpty() && hasPassword) {
            throw new ConfigException("etcd.password/etcd.passwordFile (or WOSLO_ETCD_PASSWORD) is set but etcd.user"
                    + " (or WOSLO_ETCD_USER) is not");
        }
        if (!etcd.user().isEmpty()) {
            if (!hasPassword) {
                throw new ConfigException("etcd.user '" + etcd.user() + "' needs etcd.passwordFile, etcd.password"
                        + " or WOSLO_ETCD_PASSWORD");
            }
            EtcdClients.password(etcd);
        }
        if (etcd.tls().configured()) {
            if (localEtcd()) {
                throw new ConfigException("etcd.tls: the local etcd (etcd.local, --local-etcd) speaks plain HTTP;"
                        + " use etcd.tls with https:// endpoints of an etcd you run");
            }
            for (String endpoint : etcdEndpoints()) {
                if (!endpoint.startsWith("https://")) {
                    throw new ConfigException("etcd.tls is set but the endpoint '" + endpoint + "' is not https://");
                }
            }
            EtcdClients.check(etcd.tls());
        }
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
        return "CoordinatorConfig[host=" + host() + ", port=" + port() + ", token="
                + (tokenRequired() ? "***" : "none") + ", etcd=" + etcd + ", cacheTtl=" + cacheTtl()
                + ", lockLeaseTime=" + lockLeaseTime() + ", resources=" + resources().keySet() + "]";
    }
}
