package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.woslo.lock.DistributedLock;
import io.woslo.lock.RwLocks;
import io.woslo.quota.QuotaKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator against an etcd that serves TLS only and requires client certificates, all made with openssl in
 * the test: the right CA and client certificate work; a wrong CA, a missing client certificate or a key Netty cannot
 * read stop the start with a message naming the cause.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EtcdTlsIT {
    private Path dir;
    private TestCerts ca;
    private Path[] client;
    private SecureEtcd etcd;

    @BeforeAll
    void start(@TempDir Path tempDir) {
        dir = tempDir;
        ca = TestCerts.ca(dir, "ca");
        Path[] server = ca.server("server");
        client = ca.client("client", "woslo");
        etcd = SecureEtcd.tls(dir, ca, server, client);
    }

    @AfterAll
    void stop() {
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void reserveAndFinallyWorkOverTlsWithAClientCertificate() throws IOException {
        String namespace = TestCoordinators.freshNamespace("tls");
        Path file = config(namespace, "tls: { ca: ca.pem, cert: client.pem, key: client-key.pem }");
        try (Coordinator coordinator = Coordinator.start(CoordinatorConfig.load(file).validate(), dir)) {
            Http http = new Http(coordinator.baseUrl());
            Http.Response reserved = http.postJson("/v1/reservations",
                    "{\"account\":\"acme\",\"resources\":{\"CPUA\":3}}");
            assertThat(reserved.status()).as(reserved.toString()).isEqualTo(201);
            String id = reserved.json().get("id").asText();
            assertThat(etcd.etcdctl("get", "--print-value-only", QuotaKeys.counter(namespace, "acme", "CPUA")))
                    .as("the counter lives in the TLS etcd").contains("\"used\":13");
            assertThat(http.post("/v1/reservations/" + id + "/finally").status()).isEqualTo(204);
            assertThat(http.get("/v1/reservations/" + id).status()).isEqualTo(404);
            assertThat(http.get("/health").status()).isEqualTo(200);
        }
    }

    @Test
    void theLibrarysClientSetupFromTheReadmeTakesALockOverTls() throws Exception {
        SslContext tls = GrpcSslContexts.forClient()
                .trustManager(ca.cert().toFile())
                .keyManager(client[0].toFile(), client[1].toFile())
                .build();
        String namespace = TestCoordinators.freshNamespace("tls-lib");
        try (Client etcdClient = Client.builder().endpoints(etcd.endpoint()).sslContext(tls).build();
             RwLocks locks = RwLocks.builder(etcdClient).namespace(namespace).build()) {
            DistributedLock write = locks.writeLock("k", 1, Duration.ofSeconds(30));
            write.lock();
            try {
                assertThat(etcd.etcdctl("get", "--prefix", "--keys-only", namespace + "/")).contains(namespace);
            } finally {
                write.unlock();
            }
        }
    }

    @Test
    void aCaThatDidNotSignEtcdsCertificateFailsAtStartNamingTheCa() throws IOException {
        TestCerts.ca(dir, "other-ca");
        Path file = config(TestCoordinators.freshNamespace("tls"),
                "tls: { ca: other-ca.pem, cert: client.pem, key: client-key.pem }");
        long started = System.nanoTime();
        assertThatThrownBy(() -> Coordinator.start(CoordinatorConfig.load(file).validate(), dir).close())
                .hasMessageContaining("TLS handshake with etcd")
                .hasMessageContaining("server certificate is not signed by etcd.tls.ca")
                .hasMessageContaining("other-ca.pem");
        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .as("decided by the handshake, not by waiting out the 20 s operation timeout")
                .isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void withoutAClientCertificateEtcdRefusesTheHandshakeAndTheStartSaysSo() throws IOException {
        Path file = config(TestCoordinators.freshNamespace("tls"), "tls: { ca: ca.pem }");
        assertThatThrownBy(() -> Coordinator.start(CoordinatorConfig.load(file).validate(), dir).close())
                .hasMessageContaining("TLS handshake with etcd")
                .hasMessageContaining("etcd refused the client certificate (none is configured");
    }

    @Test
    void aTraditionalKeyIsRefusedWithTheCommandThatConvertsIt() throws IOException {
        TestCerts.traditional(client[1], dir.resolve("client-key-sec1.pem"));
        assertThat(Files.readString(dir.resolve("client-key-sec1.pem"))).contains("BEGIN EC PRIVATE KEY");
        Path file = config(TestCoordinators.freshNamespace("tls"),
                "tls: { ca: ca.pem, cert: client.pem, key: client-key-sec1.pem }");
        assertThatThrownBy(() -> CoordinatorConfig.load(file).validate()).isInstanceOf(ConfigException.class)
                .hasMessageContaining("etcd.tls.key").hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");
    }

    private Path config(String namespace, String etcdSettings) throws IOException {
        return etcd.coordinatorConfig(dir, namespace, etcdSettings);
    }
}
