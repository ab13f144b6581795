package io.woslo.coordinator;

import io.etcd.jetcd.Client;
import io.woslo.quota.UsedQuotaHandler;
import java.time.Duration;
import java.util.Set;

/**
 * Where a resource's real used and quota figures come from, as the config file names it ({@code source: static},
 * {@code ledger}, {@code http}, {@code jdbc}). Parsed and checked when the config is loaded; turned into a
 * {@link UsedQuotaHandler} when the coordinator starts. Handlers may block: the library calls them off the event
 * loop, each bounded by its operation timeout.
 */
interface ResourceSource {
    Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    /**
     * The handler for this source; {@code client} and {@code namespace} serve the ledger. A handler that is also
     * {@link AutoCloseable} (a JDBC source's pool) is closed when the coordinator stops.
     */
    UsedQuotaHandler handler(String resource, Client client, String namespace);

    /** Reads one resource's source settings; the errors name the setting. */
    static ResourceSource parse(ConfigNode node) {
        String source = node.requiredText("source");
        return switch (source) {
            case "static" -> StaticSource.parse(node.only(Set.of("source", "used", "quota")));
            case "ledger" -> LedgerSource.parse(node.only(Set.of("source", "quota", "quotas")));
            case "http" -> HttpSource.parse(node.only(Set.of("source", "usedUrl", "quotaUrl", "timeout")));
            case "jdbc" -> JdbcSource.parse(node.only(Set.of("source", "url", "usedSql", "quotaSql", "user",
                    "password", "timeout", "maxConnections")));
            default -> throw new ConfigException(node.path() + ".source: unknown source '" + source
                    + "'; known: static, ledger, http, jdbc");
        };
    }
}
