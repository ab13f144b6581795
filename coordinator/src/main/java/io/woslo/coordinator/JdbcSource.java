package io.woslo.coordinator;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.etcd.jetcd.Client;
import io.woslo.quota.UsedQuotaHandler;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Figures from a database: {@code usedSql} and {@code quotaSql} each take the account as their one {@code ?} and
 * return one row whose first column is the figure. Each source has a HikariCP pool of its own of at most
 * {@code maxConnections} connections (default {@value #DEFAULT_MAX_CONNECTIONS}), opened as queries need them and
 * closed with the coordinator; the driver must be on the class path. Waiting for a connection and each query are
 * bounded by {@code timeout} (default 5 seconds).
 */
record JdbcSource(String url, String usedSql, String quotaSql, String user, String password, Duration timeout,
                  int maxConnections) implements ResourceSource {
    static final int DEFAULT_MAX_CONNECTIONS = 4;
    static final int MAX_CONNECTIONS_LIMIT = 100;
    /** HikariCP's smallest connection timeout. */
    private static final Duration MIN_WAIT = Duration.ofMillis(250);

    static JdbcSource parse(ConfigNode node) {
        String url = node.requiredText("url");
        if (!url.startsWith("jdbc:")) {
            throw new ConfigException(node.path() + ".url: '" + url + "' is not a JDBC URL (jdbc:...)");
        }
        long max = node.nonNegativeLong("maxConnections", (long) DEFAULT_MAX_CONNECTIONS);
        if (max < 1 || max > MAX_CONNECTIONS_LIMIT) {
            throw new ConfigException(node.path() + ".maxConnections: must be 1 to " + MAX_CONNECTIONS_LIMIT
                    + ", got " + max);
        }
        return new JdbcSource(url, node.requiredText("usedSql"), node.requiredText("quotaSql"),
                node.text("user", null), node.text("password", null), node.duration("timeout", DEFAULT_TIMEOUT),
                (int) max);
    }

    @Override
    public UsedQuotaHandler handler(String resource, Client client, String namespace) {
        return new Pooled(this, resource);
    }

    /** The handler: the source's pool, closed by the coordinator when it stops. */
    static final class Pooled implements UsedQuotaHandler, AutoCloseable {
        private final JdbcSource source;
        private final HikariDataSource pool;

        Pooled(JdbcSource source, String resource) {
            this.source = source;
            Duration wait = source.timeout.compareTo(MIN_WAIT) < 0 ? MIN_WAIT : source.timeout;
            HikariConfig config = new HikariConfig();
            config.setPoolName("woslo-jdbc-" + resource);
            config.setJdbcUrl(source.url);
            if (source.user != null) {
                config.setUsername(source.user);
                config.setPassword(source.password);
            }
            config.setMaximumPoolSize(source.maxConnections);
            config.setMinimumIdle(0); // nothing is opened before a query needs it
            config.setConnectionTimeout(wait.toMillis());
            config.setValidationTimeout(Math.min(wait.toMillis(), Duration.ofSeconds(5).toMillis()));
            config.setInitializationFailTimeout(-1); // a database that is down at start shows as error rows
            this.pool = new HikariDataSource(config);
        }

        @Override
        public long queryUsed(String account) throws SQLException {
            return query(source.usedSql, account);
        }

        @Override
        public long queryQuota(String account) throws SQLException {
            return query(source.quotaSql, account);
        }

        private long query(String sql, String account) throws SQLException {
            try (Connection connection = pool.getConnection();
                 PreparedStatement statement = connection.prepareStatement(sql)) {
                statement.setQueryTimeout((int) Math.max(1, source.timeout.toSeconds()));
                statement.setString(1, account);
                try (ResultSet rows = statement.executeQuery()) {
                    if (!rows.next()) {
                        throw new SQLException("no row for account '" + account + "' from: " + sql);
                    }
                    return rows.getLong(1);
                }
            }
        }

        /** Closes the pool and its connections; in-flight queries finish first or fail. */
        @Override
        public void close() {
            pool.close();
        }
    }

    @Override
    public String toString() {
        return "JdbcSource[url=" + url + ", user=" + user + ", maxConnections=" + maxConnections + "]";
    }
}
