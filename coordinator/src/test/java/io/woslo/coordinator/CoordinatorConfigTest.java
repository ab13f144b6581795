package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CoordinatorConfigTest {
    private static final String FULL = """
            http:  { host: 127.0.0.1, port: 7070, token: "" }
            etcd:  { endpoints: ["http://127.0.0.1:2379"], namespace: /woslo }
            quota:
              cacheTtl: 3m
              lockLeaseTime: 1m
              resources:
                CPUA: { source: static, used: 10, quota: 20 }
                GPU:  { source: ledger, quota: 8, quotas: { vip: 64 } }
                VM:   { source: http, usedUrl: "http://127.0.0.1:9000/used?account={account}", \
            quotaUrl: "http://127.0.0.1:9000/quota?account={account}" }
                DISK: { source: jdbc, url: "jdbc:postgresql://127.0.0.1/app", \
            usedSql: "select count(*) from disks where account = ?", \
            quotaSql: "select disk_quota from accounts where id = ?" }
            """;

    @TempDir
    Path dir;

    @Test
    void theContractsExampleFileParses() {
        CoordinatorConfig config = TestCoordinators.config(FULL).validate();
        assertThat(config.host()).isEqualTo("127.0.0.1");
        assertThat(config.port()).isEqualTo(7070);
        assertThat(config.tokenRequired()).isFalse();
        assertThat(config.etcdEndpoints()).containsExactly("http://127.0.0.1:2379");
        assertThat(config.namespace()).isEqualTo("/woslo");
        assertThat(config.cacheTtl()).isEqualTo(Duration.ofMinutes(3));
        assertThat(config.lockLeaseTime()).isEqualTo(Duration.ofMinutes(1));
        assertThat(config.resources()).containsOnlyKeys("CPUA", "GPU", "VM", "DISK");
        assertThat(config.resources().get("CPUA")).isEqualTo(new StaticSource(10, 20));
        assertThat(config.resources().get("GPU")).isEqualTo(new LedgerSource(8, Map.of("vip", 64L)));
        assertThat(config.resources().get("VM")).isInstanceOf(HttpSource.class);
        assertThat(((JdbcSource) config.resources().get("DISK")).usedSql()).contains("from disks");
        assertThat(((JdbcSource) config.resources().get("DISK")).maxConnections())
                .isEqualTo(JdbcSource.DEFAULT_MAX_CONNECTIONS);
    }

    @Test
    void defaultsFillWhatTheFileLeavesOut() {
        CoordinatorConfig config = TestCoordinators.config("quota: { resources: { A: { source: static, quota: 1 } } }");
        assertThat(config.host()).isEqualTo("127.0.0.1");
        assertThat(config.port()).isEqualTo(7070);
        assertThat(config.etcdEndpoints()).isEmpty();
        assertThat(config.localEtcd()).as("a local etcd only when asked for").isFalse();
        assertThat(config.namespace()).isEqualTo("/woslo");
        assertThat(config.cacheTtl()).isEqualTo(Duration.ofMinutes(3));
        assertThat(config.operationTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.failureMode()).isEqualTo(io.woslo.quota.FailureMode.CLOSED);
    }

    @Test
    void theOperationTimeoutAndFailureModeAreRead() {
        CoordinatorConfig config = TestCoordinators.config("quota: { operationTimeout: 3s, failureMode: open,"
                + " resources: { A: { source: static, quota: 1 } } }");
        assertThat(config.operationTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(config.failureMode()).isEqualTo(io.woslo.quota.FailureMode.OPEN);
        assertThatThrownBy(() -> TestCoordinators.config("quota: { failureMode: maybe,"
                + " resources: { A: { source: static, quota: 1 } } }"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("'maybe'");
    }

    @Test
    void flagsWinOverEnvironmentWhichWinsOverTheFile() throws IOException {
        Path file = Files.writeString(dir.resolve("c.yaml"), FULL);
        Map<String, String> env = Map.of("WOSLO_PORT", "8001", "WOSLO_ETCD_ENDPOINTS", "http://e1:2379,http://e2:2379",
                "WOSLO_NAMESPACE", "/from-env", "WOSLO_TOKEN", "env-token");

        CoordinatorConfig fileOnly = CommandLine.resolve(new String[] {"--config", file.toString()}, Map.of());
        assertThat(fileOnly.port()).isEqualTo(7070);

        CoordinatorConfig fromEnv = CommandLine.resolve(new String[] {"--config", file.toString()}, env);
        assertThat(fromEnv.port()).isEqualTo(8001);
        assertThat(fromEnv.etcdEndpoints()).containsExactly("http://e1:2379", "http://e2:2379");
        assertThat(fromEnv.namespace()).isEqualTo("/from-env");
        assertThat(fromEnv.token()).isEqualTo("env-token");

        CoordinatorConfig fromFlags = CommandLine.resolve(new String[] {"--config", file.toString(), "--port", "9002",
                "--etcd", "http://f:2379", "--namespace=/from-flag", "--token", "flag-token"}, env);
        assertThat(fromFlags.port()).isEqualTo(9002);
        assertThat(fromFlags.etcdEndpoints()).containsExactly("http://f:2379");
        assertThat(fromFlags.namespace()).isEqualTo("/from-flag");
        assertThat(fromFlags.token()).isEqualTo("flag-token");
    }

    @ParameterizedTest
    @CsvSource({"3m, PT3M", "1m, PT1M", "30s, PT30S", "500ms, PT0.5S", "1m30s, PT1M30S", "2h, PT2H", "PT45S, PT45S"})
    void durationsParse(String text, String expected) {
        assertThat(Durations.parse("quota.cacheTtl", text)).isEqualTo(Duration.parse(expected));
    }

    @ParameterizedTest
    @CsvSource({"3 minutes", "m3", "3", "-1s", "0s", "1.5m", "3mm"})
    void badDurationsAreNamed(String text) {
        assertThatThrownBy(() -> Durations.parse("quota.cacheTtl", text))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("quota.cacheTtl").hasMessageContaining(text.trim());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "http: { port: 70000 }                                                        | http.port     | 70000",
        "http: { port: seventy }                                                      | http.port     | seventy",
        "http: { prot: 1 }                                                            | http.prot     | known here",
        "etcd: { endpoints: [\"127.0.0.1:2379\"] }                                    | etcd.endpoints"
            + " | 127.0.0.1:2379",
        "quota: { cacheTtl: soon }                                                    | quota.cacheTtl | soon",
        "quota: { resources: { A: { source: magic } } }                               | quota.resources.A.source"
            + " | magic",
        "quota: { resources: { A: { source: static, quota: -3 } } }                   | quota.resources.A.quota | -3",
        "quota: { resources: { A: { source: static } } }                              | quota.resources.A.quota"
            + " | required",
        "quota: { resources: { A: { source: static, quota: 1, qouta: 2 } } }          | quota.resources.A.qouta"
            + " | unknown",
        "quota: { resources: { A: { source: http, usedUrl: ftp://x, quotaUrl: http://y } } }"
            + " | quota.resources.A.usedUrl | ftp://x",
        "quota: { resources: { A: { source: jdbc, url: postgres://x, usedSql: a, quotaSql: b } } }"
            + " | quota.resources.A.url | postgres://x",
        "quota: { resources: { A: { source: jdbc, url: jdbc:x, usedSql: a, quotaSql: b, maxConnections: 0 } } }"
            + " | quota.resources.A.maxConnections | got 0",
        "quota: { resources: { A: { source: jdbc, url: jdbc:x, usedSql: a, quotaSql: b, maxConnections: 101 } } }"
            + " | quota.resources.A.maxConnections | got 101",
    })
    void badValuesAreNamedInTheError(String yaml, String setting, String detail) {
        assertThatThrownBy(() -> TestCoordinators.config(yaml))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(setting).hasMessageContaining(detail);
    }

    @Test
    void badFlagsAndEnvironmentValuesAreNamed() {
        assertThatThrownBy(() -> CommandLine.resolve(new String[] {"--port", "x1"}, Map.of()))
                .hasMessageContaining("--port").hasMessageContaining("x1");
        assertThatThrownBy(() -> CommandLine.resolve(new String[0], Map.of("WOSLO_PORT", "-5")))
                .hasMessageContaining("WOSLO_PORT").hasMessageContaining("-5");
        assertThatThrownBy(() -> CommandLine.resolve(new String[] {"--etcd", "nowhere"}, Map.of()))
                .hasMessageContaining("--etcd").hasMessageContaining("nowhere");
        assertThatThrownBy(() -> CommandLine.resolve(new String[] {"--colour", "red"}, Map.of()))
                .hasMessageContaining("--colour");
        assertThatThrownBy(() -> CommandLine.resolve(new String[] {"--config", dir.resolve("missing.yaml").toString()},
                Map.of())).hasMessageContaining("missing.yaml");
    }

    @Test
    void aNonLoopbackHostWithoutATokenIsRefused() {
        String yaml = "http: { host: 0.0.0.0 }\netcd: { local: true }\n"
                + "quota: { resources: { A: { source: static, quota: 1 } } }";
        assertThatThrownBy(() -> TestCoordinators.config(yaml).validate())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("0.0.0.0").hasMessageContaining("token");
        assertThat(TestCoordinators.config(yaml).withToken("t").validate().host()).isEqualTo("0.0.0.0");
        assertThat(TestCoordinators.config(yaml.replace("0.0.0.0", "localhost")).validate().tokenRequired()).isFalse();
    }

    @Test
    void aTokenOfOnlyWhitespaceIsRefusedNamingTheSetting() {
        String yaml = "http: { host: 0.0.0.0, token: \"   \" }\n"
                + "quota: { resources: { A: { source: static, quota: 1 } } }";
        assertThatThrownBy(() -> TestCoordinators.config(yaml).validate())
                .isInstanceOf(ConfigException.class).hasMessageContaining("http.token")
                .hasMessageContaining("whitespace");
        assertThatThrownBy(() -> TestCoordinators.config(yaml.replace("0.0.0.0", "127.0.0.1")).withToken(" \t")
                .validate()).isInstanceOf(ConfigException.class).hasMessageContaining("http.token");
    }

    @Test
    void aConfigWithoutResourcesOrWithABadNamespaceIsRefused() {
        assertThatThrownBy(() -> TestCoordinators.config("http: { port: 1 }").validate())
                .hasMessageContaining("quota.resources");
        assertThatThrownBy(() -> TestCoordinators.config(
                "etcd: { namespace: woslo }\nquota: { resources: { A: { source: static, quota: 1 } } }").validate())
                .hasMessageContaining("etcd.namespace").hasMessageContaining("woslo");
    }

    @Test
    void theDemoConfigOfRunShIsValid() {
        CoordinatorConfig demo = CoordinatorConfig.load(Path.of("../scripts/demo-config.yaml")).validate();
        assertThat(demo.port()).isEqualTo(7070);
        assertThat(demo.etcdEndpoints()).isEmpty();
        assertThat(demo.localEtcd()).as("scripts/run.sh asks for a local etcd").isTrue();
        assertThat(demo.resources()).containsExactly(Map.entry("CPUA", new StaticSource(10, 20)),
                Map.entry("CPUB", new StaticSource(0, 20)), Map.entry("CPUC", new StaticSource(18, 20)),
                Map.entry("CPUD", new StaticSource(20, 20)));
        assertThat(List.copyOf(demo.resources().keySet())).containsExactly("CPUA", "CPUB", "CPUC", "CPUD");
        assertThat(demo.accounts()).as("the seed's InitResourceQuotaData accounts").containsExactly("account1",
                "account2");
    }

    @Test
    void accountsToLoadAreAListOfNamesEachChecked() {
        String resources = "  resources: { A: { source: static, quota: 1 } }\n";
        assertThat(TestCoordinators.config("quota:\n" + resources).accounts()).isEmpty();
        assertThat(TestCoordinators.config("quota:\n  accounts: [a, 'b/c']\n" + resources).accounts())
                .containsExactly("a", "b/c");
        assertThatThrownBy(() -> TestCoordinators.config("quota:\n  accounts: a\n" + resources))
                .isInstanceOf(ConfigException.class).hasMessageContaining("quota.accounts")
                .hasMessageContaining("list");
        assertThatThrownBy(() -> TestCoordinators.config("quota:\n  accounts: [a, '']\n" + resources))
                .isInstanceOf(ConfigException.class).hasMessageContaining("quota.accounts")
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> TestCoordinators.config("quota:\n  accounts: [a, 7]\n" + resources))
                .isInstanceOf(ConfigException.class).hasMessageContaining("quota.accounts")
                .hasMessageContaining("7");
    }

    @Test
    void noEndpointAndNoLocalEtcdIsRefusedWithTheWaysOut() {
        CoordinatorConfig config = TestCoordinators.config("quota: { resources: { A: { source: static, quota: 1 } } }");
        assertThatThrownBy(config::validate).isInstanceOf(ConfigException.class)
                .hasMessage("no etcd endpoint: set etcd.endpoints, --etcd or WOSLO_ETCD_ENDPOINTS, or ask for a local"
                        + " etcd with etcd.local: true / --local-etcd");
        CoordinatorConfig local = TestCoordinators.config(
                "etcd: { local: true }\nquota: { resources: { A: { source: static, quota: 1 } } }").validate();
        assertThat(local.localEtcd()).isTrue();
        assertThat(local.etcdEndpoints()).isEmpty();
    }

    @Test
    void aLocalEtcdAndEndpointsInTheFileExcludeEachOther() {
        assertThatThrownBy(() -> TestCoordinators.config("etcd: { local: true, endpoints: [\"http://e:2379\"] }"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("etcd.local")
                .hasMessageContaining("http://e:2379");
        assertThatThrownBy(() -> TestCoordinators.config("etcd: { local: sometimes }"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("etcd.local")
                .hasMessageContaining("sometimes");
    }

    @Test
    void theTokenIsReadFromTokenFileRelativeToTheConfigFile() throws IOException {
        Files.createDirectories(dir.resolve("secrets"));
        Files.writeString(dir.resolve("secrets/token"), "  s3cret-token\n");
        Path file = Files.writeString(dir.resolve("c.yaml"), """
                http: { tokenFile: secrets/token }
                etcd: { local: true }
                quota: { resources: { A: { source: static, quota: 1 } } }
                """);
        CoordinatorConfig config = CoordinatorConfig.load(file).validate();
        assertThat(config.token()).isEqualTo("s3cret-token");
        assertThat(config.tokenRequired()).isTrue();
        assertThat(config.toString()).doesNotContain("s3cret");
    }

    @Test
    void aTokenFileThatIsMissingEmptyOrOnlyWhitespaceIsRefusedNamingTheSetting() throws IOException {
        Files.writeString(dir.resolve("blank"), " \n\t\n");
        assertThatThrownBy(() -> TestCoordinators.config("http: { tokenFile: '" + dir.resolve("blank") + "' }"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("http.tokenFile")
                .hasMessageContaining("only whitespace");
        assertThatThrownBy(() -> TestCoordinators.config("http: { tokenFile: '" + dir.resolve("absent") + "' }"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("http.tokenFile")
                .hasMessageContaining("absent");
        Files.writeString(dir.resolve("good"), "t");
        assertThatThrownBy(
                () -> TestCoordinators.config("http: { token: a, tokenFile: '" + dir.resolve("good") + "' }"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("http.token and http.tokenFile");
        assertThatThrownBy(() -> TestCoordinators.config("http: { token: '   ' }"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("http.token")
                .hasMessageContaining("only whitespace");
    }

    @Test
    void etcdAuthenticationAndTlsFilesAreReadRelativeToTheFileAndCheckedAsPem() throws IOException {
        for (String name : List.of("pw", "ca.pem", "client.pem", "client-key.pem")) {
            Files.writeString(dir.resolve(name), "x");
        }
        Path file = Files.writeString(dir.resolve("c.yaml"), """
                etcd:
                  endpoints: ["https://127.0.0.1:2379"]
                  user: woslo
                  passwordFile: pw
                  tls: { ca: ca.pem, cert: client.pem, key: client-key.pem }
                quota: { resources: { A: { source: static, quota: 1 } } }
                """);
        CoordinatorConfig config = CoordinatorConfig.load(file);
        assertThat(config.etcd().user()).isEqualTo("woslo");
        assertThat(config.etcd().passwordFile()).isEqualTo(dir.resolve("pw").toAbsolutePath().normalize());
        assertThat(config.etcd().tls()).isEqualTo(new CoordinatorConfig.Tls(dir.resolve("ca.pem").toAbsolutePath()
                .normalize(), dir.resolve("client.pem").toAbsolutePath().normalize(),
                dir.resolve("client-key.pem").toAbsolutePath().normalize()));
        assertThat(EtcdClients.password(config.etcd())).isEqualTo("x");
        assertThatThrownBy(config::validate).isInstanceOf(ConfigException.class)
                .hasMessageContaining("etcd.tls.ca").hasMessageContaining("holds no PEM certificate");
        assertThat(TestCoordinators.config("etcd: { endpoints: [\"http://e:2379\"], user: u, password: hunter2 }")
                .toString()).doesNotContain("hunter2");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "etcd: { endpoints: [\"http://e:2379\"], user: woslo }   | etcd.user 'woslo' needs etcd.passwordFile",
        "etcd: { endpoints: [\"http://e:2379\"], password: p }   | etcd.user (or WOSLO_ETCD_USER) is not",
        "etcd: { local: true, tls: { ca: pom.xml } }              | the local etcd",
        "etcd: { endpoints: [\"http://e:2379\"], tls: { ca: pom.xml } } | endpoint 'http://e:2379' is not https://",
        "etcd: { endpoints: [\"https://e:2379\"], tls: { ca: pom.xml } } | etcd.tls.ca",
    })
    void badEtcdSecurityCombinationsAreNamedByValidate(String yaml, String message) {
        CoordinatorConfig config = TestCoordinators.config(yaml + "\nquota: { resources: { A: { source: static,"
                + " quota: 1 } } }");
        assertThatThrownBy(config::validate).isInstanceOf(ConfigException.class).hasMessageContaining(message);
    }

    @Test
    void anEmptyPasswordFileIsRefusedNamingIt() throws IOException {
        Files.writeString(dir.resolve("empty-pw"), "  \n");
        CoordinatorConfig config = TestCoordinators.config("etcd: { endpoints: [\"http://e:2379\"], user: u,"
                + " passwordFile: '" + dir.resolve("empty-pw") + "' }\nquota: { resources: { A: { source: static,"
                + " quota: 1 } } }");
        assertThatThrownBy(config::validate).isInstanceOf(ConfigException.class)
                .hasMessageContaining("etcd.passwordFile").hasMessageContaining("holds no password");
    }

    @Test
    void theEtcdUserAndPasswordComeFromTheEnvironmentOverTheFile() throws IOException {
        Files.writeString(dir.resolve("pw"), "from-file");
        Path file = Files.writeString(dir.resolve("env.yaml"), """
                etcd: { endpoints: ["http://e:2379"], user: woslo, passwordFile: pw }
                quota: { resources: { A: { source: static, quota: 1 } } }
                """);
        String[] args = {"--config", file.toString()};
        assertThat(EtcdClients.password(CommandLine.resolve(args, Map.of()).etcd())).isEqualTo("from-file");
        CoordinatorConfig fromEnv = CommandLine.resolve(args, Map.of("WOSLO_ETCD_USER", "other",
                "WOSLO_ETCD_PASSWORD", "from env"));
        assertThat(fromEnv.etcd().user()).isEqualTo("other");
        assertThat(EtcdClients.password(fromEnv.etcd())).isEqualTo("from env");
        assertThat(fromEnv.toString()).doesNotContain("from env");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "etcd: { tls: { ca: /nonexistent/ca.pem } }        | etcd.tls.ca: /nonexistent/ca.pem is not a readable file",
        "etcd: { passwordFile: /nonexistent/pw }           | etcd.passwordFile: /nonexistent/pw",
        "etcd: { tls: { cert: pom.xml } }                  | etcd.tls: cert and key go together",
        "etcd: { tls: { ca: x, crt: y } }                  | etcd.tls.crt",
    })
    void badEtcdSecuritySettingsAreNamed(String yaml, String message) {
        assertThatThrownBy(() -> TestCoordinators.config(yaml)).isInstanceOf(ConfigException.class)
                .hasMessageContaining(message);
    }

    @Test
    void theExampleInDocsApiMdParsesAsDocumented() throws IOException {
        String doc = Files.readString(Path.of("../docs/api.md"));
        int section = doc.indexOf("## Configuration");
        int from = doc.indexOf("```yaml\n", section) + "```yaml\n".length();
        String yaml = doc.substring(from, doc.indexOf("```", from));
        CoordinatorConfig config = TestCoordinators.config(yaml).validate();
        assertThat(config.etcdEndpoints()).containsExactly("http://127.0.0.1:2379");
        assertThat(config.localEtcd()).isFalse();
        assertThat(config.tokenRequired()).isFalse();
        assertThat(config.resources()).containsOnlyKeys("CPUA", "GPU", "VM", "DISK");
    }
}
