package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.quota.UsedQuotaHandler;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A jdbc source opens at most {@code maxConnections} connections however many queries run at once, and the
 * coordinator closes them when it stops. The database is in-process H2 behind a driver that counts connections.
 */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public class JdbcPoolIT { // public: H2 calls slowFigure
    private static final String DB = "h2:mem:jdbc-pool;DB_CLOSE_DELAY=-1";
    private static final CountingDriver DRIVER = new CountingDriver();
    private Connection keepAlive;

    /** Called by H2 as {@code slow_figure(account)}: a query that takes a while, so queries overlap. */
    public static long slowFigure(String account) throws InterruptedException {
        Thread.sleep(100);
        return account.length();
    }

    @BeforeAll
    void database() throws SQLException {
        DriverManager.registerDriver(DRIVER);
        keepAlive = DriverManager.getConnection("jdbc:" + DB);
        try (Statement sql = keepAlive.createStatement()) {
            sql.execute("create alias slow_figure for \"" + JdbcPoolIT.class.getName() + ".slowFigure\"");
        }
    }

    @AfterAll
    void close() throws SQLException {
        keepAlive.close();
        DriverManager.deregisterDriver(DRIVER);
    }

    @BeforeEach
    void resetCounts() {
        DRIVER.open.set(0);
        DRIVER.maxOpen.set(0);
        DRIVER.opened.set(0);
    }

    @Test
    void manyConcurrentQueriesNeverOpenMoreThanTheCap() throws Exception {
        JdbcSource source = new JdbcSource("jdbc:counting:" + DB, "select slow_figure(?)",
                "select 100 where ? is not null", null, null, Duration.ofSeconds(10), 3);
        UsedQuotaHandler handler = source.handler("DISK", null, "/unused");
        ExecutorService callers = Executors.newFixedThreadPool(24);
        try {
            List<CompletableFuture<Long>> answers = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                String account = "a".repeat(i + 1);
                answers.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return handler.queryUsed(account);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, callers));
            }
            for (int i = 0; i < 24; i++) {
                assertThat(answers.get(i).get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS))
                        .isEqualTo(i + 1);
            }
        } finally {
            callers.shutdownNow();
        }
        assertThat(DRIVER.maxOpen.get()).as("connections open at once").isEqualTo(3);
        assertThat(DRIVER.opened.get()).as("connections reused, not opened per query").isEqualTo(3);
        ((AutoCloseable) handler).close();
        assertThat(DRIVER.open.get()).as("closing the handler closes its pool").isZero();
    }

    @Test
    void theCoordinatorsRefreshesShareTheCapAndItsStopClosesThePool(EtcdCluster etcd) throws Exception {
        Coordinator coordinator = TestCoordinators.start(etcd, TestCoordinators.freshNamespace("jdbc-pool"), null, """
                DISK: { source: jdbc, url: "jdbc:counting:%s", maxConnections: 2, timeout: 10s, \
                usedSql: "select slow_figure(?)", quotaSql: "select slow_figure(?) * 10" }
                """.formatted(DB));
        Http http = new Http(coordinator.baseUrl());
        ExecutorService clients = Executors.newFixedThreadPool(12);
        try {
            List<Future<Http.Response>> refreshes = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String account = "acct" + i;
                refreshes.add(clients.submit(() -> http.post("/used_quota?account=" + account)));
            }
            for (Future<Http.Response> refresh : refreshes) {
                Http.Response response = refresh.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
                assertThat(response.status()).as(response.toString()).isEqualTo(204);
            }
        } finally {
            clients.shutdownNow();
        }
        assertThat(DRIVER.maxOpen.get()).as("connections open at once").isEqualTo(2);
        assertThat(DRIVER.opened.get()).as("connections reused, not opened per query").isLessThanOrEqualTo(2);
        assertThat(DRIVER.open.get()).as("the pool keeps its connections while it runs").isPositive();
        com.fasterxml.jackson.databind.JsonNode row = http.get("/used_quota?account=acct3").json().get("acct3").get(0);
        assertThat(row.get("IsError").asBoolean()).as(row.toString()).isFalse();
        assertThat(row.get("RealUsed").asLong()).isEqualTo("acct3".length());
        assertThat(row.get("RealQuota").asLong()).isEqualTo(10L * "acct3".length());
        coordinator.close();
        assertThat(DRIVER.open.get()).as("closed with the coordinator").isZero();
    }

    /** {@code jdbc:counting:<h2 url>}: H2 connections, counted while open. */
    static final class CountingDriver implements Driver {
        final AtomicInteger open = new AtomicInteger();
        final AtomicInteger maxOpen = new AtomicInteger();
        final AtomicInteger opened = new AtomicInteger();

        @Override
        public Connection connect(String url, Properties info) throws SQLException {
            if (!acceptsURL(url)) {
                return null;
            }
            Connection real = DriverManager.getConnection("jdbc:" + url.substring("jdbc:counting:".length()), info);
            opened.incrementAndGet();
            maxOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
            AtomicInteger closed = new AtomicInteger();
            return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                    new Class<?>[] {Connection.class}, (proxy, method, args) -> {
                        if (method.getName().equals("close") && closed.getAndIncrement() == 0) {
                            open.decrementAndGet();
                        }
                        try {
                            return method.invoke(real, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }

        @Override
        public boolean acceptsURL(String url) {
            return url.startsWith("jdbc:counting:");
        }

        @Override
        public DriverPropertyInfo[] getPropertyInfo(String url, Properties info) {
            return new DriverPropertyInfo[0];
        }

        @Override
        public int getMajorVersion() {
            return 1;
        }

        @Override
        public int getMinorVersion() {
            return 0;
        }

        @Override
        public boolean jdbcCompliant() {
            return false;
        }

        @Override
        public Logger getParentLogger() throws SQLFeatureNotSupportedException {
            throw new SQLFeatureNotSupportedException();
        }
    }
}
