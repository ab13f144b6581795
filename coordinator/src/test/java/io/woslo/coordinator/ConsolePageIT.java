package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The console's static files: served without the token (and only they: no path through {@code /ui} reaches data
 * without it), {@code /ui} redirected to {@code /ui/}, a strict Content-Security-Policy and nosniff on each, GET and
 * HEAD only, and packaged in the runnable jar.
 */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsolePageIT {
    private static final String TOKEN = "page-token";
    private Coordinator coordinator;
    private RawHttp raw;

    @BeforeAll
    void start(EtcdCluster etcd) {
        coordinator = TestCoordinators.start(etcd, TestCoordinators.freshNamespace("page"), TOKEN,
                TestCoordinators.SEED_RESOURCES);
        raw = new RawHttp(coordinator.baseUrl());
    }

    @AfterAll
    void stop() {
        coordinator.close();
    }

    @Test
    void thePageIsServedWithoutTheTokenWithAStrictPolicy() {
        RawHttp.Response page = get("/ui/");
        assertThat(page.status()).as(page.toString()).isEqualTo(200);
        assertThat(page.header("Content-Type")).isEqualTo("text/html; charset=utf-8");
        assertThat(page.body()).contains("<!DOCTYPE html>");
        assertStrictHeaders(page);
        RawHttp.Response index = get("/ui/index.html");
        assertThat(index.status()).isEqualTo(200);
        assertThat(index.body()).isEqualTo(page.body());

        RawHttp.Response head = raw.send("HEAD /ui/ HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assertThat(head.status()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        assertStrictHeaders(head);
    }

    @Test
    void uiRedirectsToUiSlash() {
        RawHttp.Response redirect = get("/ui");
        assertThat(redirect.status()).isEqualTo(301);
        assertThat(redirect.header("Location")).isEqualTo("/ui/");
        assertStrictHeaders(redirect);
    }

    @Test
    void anUnknownFileIs404AndAnotherMethodIs405() {
        RawHttp.Response missing = get("/ui/nothing-here.js");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.body()).contains("\"error\":\"not_found\"");
        for (String path : new String[] {"/ui/", "/ui", "/ui/index.html"}) {
            RawHttp.Response post = raw.send("POST " + path + " HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
                    + "Connection: close\r\n\r\n");
            assertThat(post.status()).as(path).isEqualTo(405);
            assertThat(post.header("Allow")).isEqualTo("GET, HEAD");
        }
    }

    @Test
    void noPathThroughUiReachesDataWithoutTheToken() {
        for (String path : new String[] {"/ui/../v1/accounts", "/ui/%2E%2E/v1/accounts", "/ui/./../used_quota",
                "/ui/..%2Fv1%2Faccounts", "/ui/../ui/../v1/locks/x"}) {
            RawHttp.Response response = get(path);
            assertThat(response.status()).as(path + ": " + response).isIn(401, 404);
            assertThat(response.body()).as(path).doesNotContain("accounts\":[", "holders");
        }
        assertThat(get("/v1/accounts").status()).isEqualTo(401);
        assertThat(get("/v1/locks/x").status()).isEqualTo(401);
    }

    @Test
    void theRunnableJarCarriesTheConsole() throws Exception {
        Path jar = Path.of("target/woslo-coordinator.jar");
        assertThat(jar).as("built by mvn package before the integration tests").exists();
        try (JarFile file = new JarFile(jar.toFile())) {
            assertThat(file.getEntry("ui/index.html")).isNotNull();
            try (var in = file.getInputStream(file.getEntry("ui/index.html"))) {
                assertThat(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
                        .isEqualTo(Files.readString(Path.of("src/main/resources/ui/index.html")));
            }
        }
    }

    private RawHttp.Response get(String path) {
        return raw.send("GET " + path + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    }

    private static void assertStrictHeaders(RawHttp.Response response) {
        assertThat(response.header("Content-Security-Policy")).isEqualTo(ConsolePage.CONTENT_SECURITY_POLICY)
                .contains("default-src 'self'", "script-src 'self'").doesNotContain("unsafe-inline", "unsafe-eval");
        assertThat(response.header("X-Content-Type-Options")).isEqualTo("nosniff");
    }
}
