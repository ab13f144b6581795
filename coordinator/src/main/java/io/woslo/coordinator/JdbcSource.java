package io.woslo.coordinator;

import io.etcd.jetcd.Client;
import io.woslo.quota.UsedQuotaHandler;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Figures from a database: {@code usedSql} and {@code quotaSql} each take the account as their one {@code ?} and
 * return one row whose first column is the figure. Connections come from {@link DriverManager} (the driver must be
 * on the class path); each query is bounded by {@code timeout} (default 5 seconds).
 */
record JdbcSource(String url, String usedSql, String quotaSql, String user, String password, Duration timeout)
        implements ResourceSource {

    static JdbcSource parse(ConfigNode node) {
        String url = node.requiredText("url");
        if (!url.startsWith("jdbc:")) {
            throw new ConfigException(node.path() + ".url: '" + url + "' is not a JDBC URL (jdbc:...)");
        }
        return new JdbcSource(url, node.requiredText("usedSql"), node.requiredText("quotaSql"),
                node.text("user", null), node.text("password", null), node.duration("timeout", DEFAULT_TIMEOUT));
    }

    @Override
    public UsedQuotaHandler handler(String resource, Client client, String namespace) {
        return new UsedQuotaHandler() {
            @Override
            public long queryUsed(String account) throws SQLException {
                return query(usedSql, account);
            }

            @Override
            public long queryQuota(String account) throws SQLException {
                return query(quotaSql, account);
            }
        };
    }

    private long query(String sql, String account) throws SQLException {
        try (Connection connection = user == null
                ? DriverManager.getConnection(url)
                : DriverManager.getConnection(url, user, password);
             PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setQueryTimeout((int) Math.max(1, timeout.toSeconds()));
            statement.setString(1, account);
            try (ResultSet rows = statement.executeQuery()) {
                if (!rows.next()) {
                    throw new SQLException("no row for account '" + account + "' from: " + sql);
                }
                return rows.getLong(1);
            }
        }
    }

    @Override
    public String toString() {
        return "JdbcSource[url=" + url + ", user=" + user + "]";
    }
}
