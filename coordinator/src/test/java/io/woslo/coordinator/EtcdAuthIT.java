package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.woslo.quota.QuotaKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator against an etcd with authentication on ({@code etcdctl user add}, {@code auth enable}), as a user
 * whose role may only read and write the namespace: the right password from a file works; a wrong one, or none,
 * stops the start with a message naming the cause.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EtcdAuthIT {
    private static final String PASSWORD = "s3cret pass";
    private Path dir;
    private final String namespace = TestCoordinators.freshNamespace("etcd-auth");
    private SecureEtcd etcd;

    @BeforeAll
    void start(@TempDir Path tempDir) {
        dir = tempDir;
        etcd = SecureEtcd.withAuth(dir, "r00t", "woslo", PASSWORD, namespace);
    }

    @AfterAll
    void stop() {
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void theRightPasswordFromAPasswordFileWorks() throws IOException {
        Files.writeString(dir.resolve("pw"), PASSWORD + "\n");
        Path file = config("user: woslo", "passwordFile: pw");
        try (Coordinator coordinator = Coordinator.start(CoordinatorConfig.load(file).validate(), dir)) {
            Http http = new Http(coordinator.baseUrl());
            Http.Response reserved = http.postJson("/v1/reservations",
                    "{\"account\":\"acme\",\"resources\":{\"CPUA\":2}}");
            assertThat(reserved.status()).as(reserved.toString()).isEqualTo(201);
            assertThat(etcd.etcdctl("--user", "root:r00t", "get", "--print-value-only",
                    QuotaKeys.counter(namespace, "acme", "CPUA"))).contains("\"used\":12");
            assertThat(http.post("/v1/reservations/" + reserved.json().get("id").asText() + "/finally").status())
                    .isEqualTo(204);
            assertThat(http.get("/health").status()).isEqualTo(200);
        }
    }

    @Test
    void theRightPasswordFromTheEnvironmentWorks() throws IOException {
        Path file = config("user: woslo", "");
        CoordinatorConfig config = CommandLine.resolve(new String[] {"--config", file.toString()},
                Map.of("WOSLO_ETCD_PASSWORD", PASSWORD));
        try (Coordinator coordinator = Coordinator.start(config, dir)) {
            Http.Response reserved = new Http(coordinator.baseUrl()).postJson("/v1/reservations",
                    "{\"account\":\"env\",\"resources\":{\"CPUA\":1}}");
            assertThat(reserved.status()).as(reserved.toString()).isEqualTo(201);
        }
    }

    @Test
    void aWrongPasswordFailsAtStartNamingTheUser() throws IOException {
        Files.writeString(dir.resolve("wrong"), "not-it\n");
        Path file = config("user: woslo", "passwordFile: wrong");
        assertThatThrownBy(() -> Coordinator.start(CoordinatorConfig.load(file).validate(), dir).close())
                .hasMessageContaining("refused etcd.user 'woslo': wrong password or unknown user")
                .hasMessageContaining("etcd.passwordFile")
                .hasMessageNotContaining("not-it");
    }

    @Test
    void noUserAgainstAnEtcdWithAuthenticationFailsAtStartSayingItIsRequired() throws IOException {
        Path file = config("", "");
        assertThatThrownBy(() -> Coordinator.start(CoordinatorConfig.load(file).validate(), dir).close())
                .hasMessageContaining("requires authentication: set etcd.user");
    }

    private Path config(String user, String password) throws IOException {
        return etcd.coordinatorConfig(dir, namespace, user, password);
    }
}
