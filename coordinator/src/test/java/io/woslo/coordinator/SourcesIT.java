package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The http and jdbc sources against a real HTTP server and a real H2 database; a broken source is an error row. */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SourcesIT {
    private static final String DB = "jdbc:h2:mem:sources;DB_CLOSE_DELAY=-1";
    private final String namespace = TestCoordinators.freshNamespace("sources");
    private final Map<String, String> usedAnswers = new ConcurrentHashMap<>();
    private HttpServer server;
    private Connection keepAlive;
    private Coordinator coordinator;
    private Http http;
    private Client raw;

    @BeforeAll
    void start(EtcdCluster etcd, Client client) throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/used", exchange -> {
            String account = URLDecoder.decode(exchange.getRequestURI().getRawQuery().substring("account=".length()),
                    StandardCharsets.UTF_8);
            answer(exchange, 200, usedAnswers.getOrDefault(account, "0"));
        });
        server.createContext("/quota", exchange -> answer(exchange, 200, "{\"quota\":8}"));
        server.start();
        String base = "http://127.0.0.1:" + server.getAddress().getPort();

        keepAlive = DriverManager.getConnection(DB);
        try (Statement sql = keepAlive.createStatement()) {
            sql.execute("create table disks (account varchar(100), size int)");
            sql.execute("create table accounts (id varchar(100) primary key, disk_quota int)");
            sql.execute("insert into disks values ('acme', 1), ('acme', 1), ('other', 1)");
            sql.execute("insert into accounts values ('acme', 5), ('other', 9)");
        }
        coordinator = TestCoordinators.start(etcd, namespace, null, """
                VM: { source: http, usedUrl: "%1$s/used?account={account}", \
                quotaUrl: "%1$s/quota?account={account}", timeout: 2s }
                DISK: { source: jdbc, url: "%2$s", usedSql: "select count(*) from disks where account = ?", \
                quotaSql: "select disk_quota from accounts where id = ?" }
                DOWN: { source: http, usedUrl: "http://127.0.0.1:%3$d/used?account={account}", \
                quotaUrl: "http://127.0.0.1:%3$d/q?account={account}", timeout: 1s }
                BADSQL: { source: jdbc, url: "%2$s", usedSql: "select nothing from nowhere where x = ?", \
                quotaSql: "select 1 where ? is not null" }
                """.formatted(base, DB, closedPort()));
        http = new Http(coordinator.baseUrl());
        raw = client;
    }

    @AfterAll
    void stop() throws SQLException {
        coordinator.close();
        server.stop(0);
        keepAlive.close();
    }

    @Test
    void httpAndJdbcSourcesGiveTheRealFiguresAndBrokenOnesShowAsErrors() {
        String account = "acme";
        usedAnswers.put(account, "{\"used\":6}");
        assertThat(http.post("/used_quota?account=" + account).status()).as("a failing source is no crash")
                .isEqualTo(204);

        Map<String, JsonNode> rows = rows(http.get("/used_quota?account=" + account).json().get(account));
        assertThat(rows.get("VM").get("RealUsed").asLong()).isEqualTo(6);
        assertThat(rows.get("VM").get("RealQuota").asLong()).isEqualTo(8);
        assertThat(rows.get("VM").get("IsError").asBoolean()).isFalse();
        assertThat(rows.get("DISK").get("RealUsed").asLong()).isEqualTo(2);
        assertThat(rows.get("DISK").get("RealQuota").asLong()).isEqualTo(5);
        assertThat(rows.get("DISK").get("IsError").asBoolean()).isFalse();
        assertThat(rows.get("DOWN").get("IsError").asBoolean()).isTrue();
        assertThat(rows.get("DOWN").get("ErrorMsg").asText()).isNotBlank();
        assertThat(rows.get("BADSQL").get("IsError").asBoolean()).isTrue();
        assertThat(rows.get("BADSQL").get("ErrorMsg").asText()).isNotBlank();

        assertThat(TestCoordinators.counter(raw, namespace, account, "VM").get("used").asLong()).isEqualTo(6);
        assertThat(TestCoordinators.counter(raw, namespace, account, "DISK").get("quota").asLong()).isEqualTo(5);

        Http.Response refused = http.postJson("/v1/reservations",
                "{\"account\":\"acme\",\"resources\":{\"DISK\":2,\"VM\":3}}");
        assertThat(refused.status()).as(refused.toString()).isEqualTo(409);
        assertThat(refused.json().get("resource").asText()).isEqualTo("VM");
        Http.Response granted = http.postJson("/v1/reservations",
                "{\"account\":\"acme\",\"resources\":{\"DISK\":3,\"VM\":2}}");
        assertThat(granted.status()).as(granted.toString()).isEqualTo(201);
        assertThat(http.post("/v1/reservations/" + granted.json().get("id").asText() + "/rollback").status())
                .isEqualTo(204);
    }

    @Test
    void aBareNumberAnswerAndAnEncodedAccountReachTheHttpSource() {
        String account = "team a/b";
        usedAnswers.put(account, "7");
        Map<String, JsonNode> rows = rows(http.get("/used_quota?account=team%20a%2Fb").json().get(account));
        assertThat(rows.get("VM").get("RealUsed").asLong()).isEqualTo(7);
        usedAnswers.put(account, "not a number");
        rows = rows(http.get("/used_quota?account=team%20a%2Fb").json().get(account));
        assertThat(rows.get("VM").get("IsError").asBoolean()).isTrue();
        assertThat(rows.get("VM").get("ErrorMsg").asText()).contains("not a number");
    }

    private static void answer(com.sun.net.httpserver.HttpExchange exchange, int status, String body)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static Map<String, JsonNode> rows(JsonNode list) {
        Map<String, JsonNode> out = new HashMap<>();
        list.forEach(row -> out.put(row.get("ResourceName").asText(), row));
        return out;
    }
}
