package io.woslo.coordinator;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar woslo-coordinator.jar [--config FILE] [--host H] [--port N] [--etcd URL[,URL...] | --local-etcd]
 * [--namespace NS] [--token T] [--help] [--version]}. Flags win over {@code WOSLO_*} environment variables, which
 * win over the file ({@link CommandLine#USAGE}). A bad setting exits with code 2, a failed start with 1. Stops
 * cleanly on SIGTERM / Ctrl-C.
 */
public final class Main {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        CoordinatorConfig config;
        try {
            CommandLine.Flags flags = CommandLine.parse(args);
            if (flags.has("help")) {
                System.out.println(CommandLine.USAGE);
                System.exit(0);
                return;
            }
            if (flags.has("version")) {
                System.out.println("woslo-coordinator " + version());
                System.exit(0);
                return;
            }
            config = CommandLine.resolve(flags, System.getenv());
        } catch (ConfigException e) {
            LOG.error("bad configuration: {}", e.getMessage());
            System.exit(2);
            return;
        }
        LOG.info("WOSLO coordinator {} starting: {}", version(), config);
        Coordinator coordinator;
        try {
            coordinator = Coordinator.start(config, Path.of("").toAbsolutePath());
        } catch (RuntimeException e) {
            LOG.error("{}", e.getMessage());
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("shutting down");
            coordinator.close();
            stopped.countDown();
        }, "woslo-shutdown"));
        LOG.info(tryIt(coordinator.baseUrl(), config.tokenRequired()));
        stopped.await();
    }

    /** The jar's {@code Implementation-Version}, or "dev" when run from classes without a manifest. */
    static String version() {
        String version = Main.class.getPackage().getImplementationVersion();
        return version == null || version.isBlank() ? "dev" : version;
    }

    private static String tryIt(String base, boolean token) {
        String auth = token ? " -H \"Authorization: Bearer $WOSLO_TOKEN\"" : "";
        String json = " -H 'Content-Type: application/json'";
        return String.join(System.lineSeparator(),
                "try it:",
                "  curl " + base + "/health",
                "  curl -i" + auth + json + " -d '{\"account\":\"account1\",\"resources\":{\"CPUA\":1,\"CPUB\":2}}' "
                        + base + "/v1/reservations",
                "  curl -i" + auth + " -X POST " + base + "/v1/reservations/<id>/finally",
                "  curl" + auth + " '" + base + "/used_quota?account=account1'",
                "  curl -i" + auth + " -X POST '" + base + "/used_quota?account=account1'",
                "  curl" + auth + " " + base + "/metrics",
                "the operator console: " + base + "/ui/" + (token ? " (asks for the token)" : ""),
                "stop with Ctrl-C");
    }
}
