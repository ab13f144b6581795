package io.woslo.coordinator;

import java.nio.file.Path;
import java.util.Map;

/**
 * The coordinator's command line and environment, applied over the config file: flags win over environment
 * variables, which win over the file, which wins over the defaults.
 *
 * <pre>
 * --config FILE   --port N   --etcd URL[,URL...]   --namespace NS   --token T
 * WOSLO_PORT      WOSLO_ETCD_ENDPOINTS   WOSLO_NAMESPACE   WOSLO_TOKEN
 * </pre>
 */
final class CommandLine {
    static final String USAGE = "usage: java -jar woslo-coordinator.jar [--config FILE] [--port N]"
            + " [--etcd URL[,URL...]] [--namespace NS] [--token T]";

    private CommandLine() {
    }

    /** The validated configuration for these arguments and this environment. */
    static CoordinatorConfig resolve(String[] args, Map<String, String> env) {
        Map<String, String> flags = flags(args);
        String file = flags.get("config");
        CoordinatorConfig config = file == null ? CoordinatorConfig.defaults() : CoordinatorConfig.load(Path.of(file));
        config = override(config, "WOSLO_PORT", env.get("WOSLO_PORT"), "WOSLO_ETCD_ENDPOINTS",
                env.get("WOSLO_ETCD_ENDPOINTS"), env.get("WOSLO_NAMESPACE"), env.get("WOSLO_TOKEN"));
        config = override(config, "--port", flags.get("port"), "--etcd", flags.get("etcd"), flags.get("namespace"),
                flags.get("token"));
        return config.validate();
    }

    private static CoordinatorConfig override(CoordinatorConfig config, String portName, String port,
                                              String etcdName, String etcd, String namespace, String token) {
        CoordinatorConfig out = config;
        if (port != null && !port.isBlank()) {
            out = out.withPort(Ports.parse(portName, port));
        }
        if (etcd != null && !etcd.isBlank()) {
            out = out.withEtcdEndpoints(Endpoints.split(etcdName, etcd));
        }
        if (namespace != null && !namespace.isBlank()) {
            out = out.withNamespace(namespace.trim());
        }
        if (token != null && !token.isEmpty()) {
            out = out.withToken(token);
        }
        return out;
    }

    private static Map<String, String> flags(String[] args) {
        Map<String, String> flags = new java.util.LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String name;
            String value;
            if (arg.startsWith("--") && arg.contains("=")) {
                name = arg.substring(2, arg.indexOf('='));
                value = arg.substring(arg.indexOf('=') + 1);
            } else if (arg.startsWith("--")) {
                name = arg.substring(2);
                if (i + 1 >= args.length) {
                    throw new ConfigException("flag " + arg + " needs a value; " + USAGE);
                }
                value = args[++i];
            } else {
                throw new ConfigException("unexpected argument '" + arg + "'; " + USAGE);
            }
            if (!java.util.Set.of("config", "port", "etcd", "namespace", "token").contains(name)) {
                throw new ConfigException("unknown flag --" + name + "; " + USAGE);
            }
            flags.put(name, value);
        }
        return flags;
    }
}
