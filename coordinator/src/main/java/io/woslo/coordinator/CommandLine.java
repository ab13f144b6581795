package io.woslo.coordinator;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The coordinator's command line and environment, applied over the config file: flags win over environment
 * variables, which win over the file, which wins over the defaults. See {@link #USAGE}.
 */
final class CommandLine {
    static final String USAGE = """
            usage: java -jar woslo-coordinator.jar [--config FILE] [options]

            Starts the WOSLO coordinator: the HTTP API over quota counters and locks kept in etcd.
            Flags win over environment variables, which win over the config file.

              --config FILE          YAML config file (env WOSLO_CONFIG)
              --host HOST            address to listen on, default 127.0.0.1 (env WOSLO_HOST; file http.host)
              --port N               port to listen on, default 7070; 0 picks a free one (env WOSLO_PORT; http.port)
              --etcd URL[,URL...]    etcd endpoints (env WOSLO_ETCD_ENDPOINTS; etcd.endpoints)
              --local-etcd           start an etcd of the coordinator's own, data under ./data/etcd (etcd.local: true)
              --namespace NS         etcd key prefix, default /woslo (env WOSLO_NAMESPACE; etcd.namespace)
              --token T              bearer token required on every endpoint but /health
                                     (env WOSLO_TOKEN; http.token or http.tokenFile)

            etcd TLS and authentication come from the file (etcd.tls: { ca, cert, key }, etcd.user,
            etcd.passwordFile) or the environment (WOSLO_ETCD_USER, WOSLO_ETCD_PASSWORD), never from a flag.
              --help                 print this text and exit
              --version              print the version and exit

            Either etcd endpoints or a local etcd must be asked for. A bad value exits with code 2.""";

    /** Flags that take a value. */
    private static final Set<String> VALUED = Set.of("config", "host", "port", "etcd", "namespace", "token");
    /** Flags that stand alone. */
    private static final Set<String> SWITCHES = Set.of("local-etcd", "help", "version");

    private CommandLine() {
    }

    /** Parsed flags: values by name (without "--") and the switches given. */
    record Flags(Map<String, String> values, Set<String> switches) {
        boolean has(String name) {
            return switches.contains(name);
        }
    }

    /** The validated configuration for these arguments and this environment. */
    static CoordinatorConfig resolve(String[] args, Map<String, String> env) {
        return resolve(parse(args), env);
    }

    /** The validated configuration for these flags and this environment. */
    static CoordinatorConfig resolve(Flags flags, Map<String, String> env) {
        String file = flags.values().get("config");
        if (file == null && present(env.get("WOSLO_CONFIG"))) {
            file = env.get("WOSLO_CONFIG").strip();
        }
        CoordinatorConfig config = file == null ? CoordinatorConfig.defaults() : CoordinatorConfig.load(Path.of(file));
        config = override(config, "WOSLO_", env.get("WOSLO_HOST"), env.get("WOSLO_PORT"),
                env.get("WOSLO_ETCD_ENDPOINTS"), env.get("WOSLO_NAMESPACE"), env.get("WOSLO_TOKEN"));
        if (present(env.get("WOSLO_ETCD_USER"))) {
            config = config.withEtcdUser(env.get("WOSLO_ETCD_USER"));
        }
        if (present(env.get("WOSLO_ETCD_PASSWORD"))) {
            // Only from the environment or a file: a flag would show in ps.
            config = config.withEtcdPassword(env.get("WOSLO_ETCD_PASSWORD"));
        }
        Map<String, String> values = flags.values();
        if (flags.has("local-etcd") && values.containsKey("etcd")) {
            throw new ConfigException("--etcd and --local-etcd exclude each other; keep one");
        }
        config = override(config, "--", values.get("host"), values.get("port"), values.get("etcd"),
                values.get("namespace"), values.get("token"));
        if (flags.has("local-etcd")) {
            config = config.withLocalEtcd();
        }
        return config.validate();
    }

    /**
     * Reads {@code --name value}, {@code --name=value} and the switches; anything else is a {@link ConfigException}.
     */
    static Flags parse(String[] args) {
        Map<String, String> values = new LinkedHashMap<>();
        Set<String> switches = new java.util.LinkedHashSet<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                throw new ConfigException("unexpected argument '" + arg + "'; see --help");
            }
            int eq = arg.indexOf('=');
            String name = eq < 0 ? arg.substring(2) : arg.substring(2, eq);
            if (SWITCHES.contains(name)) {
                if (eq >= 0) {
                    throw new ConfigException("flag --" + name + " takes no value");
                }
                switches.add(name);
            } else if (VALUED.contains(name)) {
                if (eq >= 0) {
                    values.put(name, arg.substring(eq + 1));
                } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                    values.put(name, args[++i]);
                } else {
                    throw new ConfigException("flag " + arg + " needs a value (--" + name + " VALUE or --" + name
                            + "=VALUE); see --help");
                }
            } else {
                throw new ConfigException("unknown flag --" + name + "; see --help");
            }
        }
        return new Flags(values, switches);
    }

    /** Applies the settings one level gives; {@code prefix} is "--" or "WOSLO_" to name them in errors. */
    private static CoordinatorConfig override(CoordinatorConfig config, String prefix, String host, String port,
                                              String etcd, String namespace, String token) {
        boolean flag = prefix.equals("--");
        CoordinatorConfig out = config;
        if (present(host)) {
            out = out.withHost(host(flag ? "--host" : "WOSLO_HOST", host.strip()));
        }
        if (present(port)) {
            out = out.withPort(Ports.parse(flag ? "--port" : "WOSLO_PORT", port));
        }
        if (present(etcd)) {
            out = out.withEtcdEndpoints(Endpoints.split(flag ? "--etcd" : "WOSLO_ETCD_ENDPOINTS", etcd));
        }
        if (present(namespace)) {
            out = out.withNamespace(namespace.strip());
        }
        if (token != null && !token.isEmpty()) {
            out = out.withToken(Tokens.check(flag ? "--token" : "WOSLO_TOKEN", token));
        }
        return out;
    }

    private static String host(String setting, String host) {
        if (host.chars().anyMatch(Character::isWhitespace)) {
            throw new ConfigException(setting + ": '" + host + "' is not a host name or address");
        }
        try {
            InetAddress.getByName(host);
            return host;
        } catch (UnknownHostException e) {
            throw new ConfigException(setting + ": '" + host + "' is not a known host name or address");
        }
    }

    private static boolean present(String value) {
        return value != null && !value.isBlank();
    }
}
