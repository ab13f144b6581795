package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Flags, environment variables and the file, and which wins. */
class CommandLineTest {
    private static final String RESOURCES = "quota: { resources: { A: { source: static, quota: 1 } } }\n";

    @TempDir
    Path dir;

    private Path file(String name, String yaml) throws IOException {
        return Files.writeString(dir.resolve(name), yaml + RESOURCES);
    }

    @Test
    void theHostComesFromTheFlagOverTheEnvironmentOverTheFile() throws IOException {
        Path file = file("c.yaml", "http: { host: 127.0.0.1 }\netcd: { local: true }\n");
        String[] fileOnly = {"--config", file.toString()};
        assertThat(CommandLine.resolve(fileOnly, Map.of()).host()).isEqualTo("127.0.0.1");
        assertThat(CommandLine.resolve(fileOnly, Map.of("WOSLO_HOST", "localhost")).host()).isEqualTo("localhost");
        assertThat(CommandLine.resolve(new String[] {"--config", file.toString(), "--host", "::1"},
                Map.of("WOSLO_HOST", "localhost")).host()).isEqualTo("::1");
    }

    @Test
    void aBadHostIsNamedByWhereItCameFrom() {
        assertThatThrownBy(() -> CommandLine.resolve(new String[] {"--host", "my host"}, Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--host").hasMessageContaining("my host");
        assertThatThrownBy(() -> CommandLine.resolve(new String[0], Map.of("WOSLO_HOST", "a b")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("WOSLO_HOST").hasMessageContaining("a b");
    }

    @Test
    void woslosConfigNamesTheFileWhenThereIsNoConfigFlag() throws IOException {
        Path fromEnv = file("env.yaml", "http: { port: 7101 }\netcd: { local: true }\n");
        Path fromFlag = file("flag.yaml", "http: { port: 7102 }\netcd: { local: true }\n");
        Map<String, String> env = Map.of("WOSLO_CONFIG", fromEnv.toString());
        assertThat(CommandLine.resolve(new String[0], env).port()).isEqualTo(7101);
        assertThat(CommandLine.resolve(new String[] {"--config", fromFlag.toString()}, env).port()).isEqualTo(7102);
        assertThatThrownBy(() -> CommandLine.resolve(new String[0],
                Map.of("WOSLO_CONFIG", dir.resolve("absent.yaml").toString())))
                .isInstanceOf(ConfigException.class).hasMessageContaining("absent.yaml");
    }

    @Test
    void aLocalEtcdIsStartedOnlyWhenAskedFor() throws IOException {
        Path noEtcd = file("none.yaml", "");
        assertThatThrownBy(() -> CommandLine.resolve(new String[] {"--config", noEtcd.toString()}, Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("no etcd endpoint")
                .hasMessageContaining("--local-etcd");
        CoordinatorConfig asked = CommandLine.resolve(new String[] {"--config", noEtcd.toString(), "--local-etcd"},
                Map.of());
        assertThat(asked.localEtcd()).isTrue();
        assertThat(asked.etcdEndpoints()).isEmpty();
    }

    @Test
    void aHigherLevelsEtcdChoiceReplacesALowerOnes() throws IOException {
        Path local = file("local.yaml", "etcd: { local: true }\n");
        Path remote = file("remote.yaml", "etcd: { endpoints: [\"http://file:2379\"] }\n");

        CoordinatorConfig envOverLocal = CommandLine.resolve(new String[] {"--config", local.toString()},
                Map.of("WOSLO_ETCD_ENDPOINTS", "http://env:2379"));
        assertThat(envOverLocal.localEtcd()).isFalse();
        assertThat(envOverLocal.etcdEndpoints()).containsExactly("http://env:2379");

        CoordinatorConfig flagOverLocal = CommandLine.resolve(new String[] {"--config", local.toString(), "--etcd",
                "http://flag:2379"}, Map.of());
        assertThat(flagOverLocal.localEtcd()).isFalse();
        assertThat(flagOverLocal.etcdEndpoints()).containsExactly("http://flag:2379");

        CoordinatorConfig localOverRemote = CommandLine.resolve(new String[] {"--config", remote.toString(),
                "--local-etcd"}, Map.of("WOSLO_ETCD_ENDPOINTS", "http://env:2379"));
        assertThat(localOverRemote.localEtcd()).isTrue();
        assertThat(localOverRemote.etcdEndpoints()).isEmpty();

        assertThatThrownBy(() -> CommandLine.resolve(new String[] {"--config", remote.toString(), "--local-etcd",
                "--etcd", "http://flag:2379"}, Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--etcd and --local-etcd");
    }

    @Test
    void aTokenOfOnlyWhitespaceIsRefusedNamingWhereItCameFrom() throws IOException {
        Path file = file("c.yaml", "etcd: { local: true }\n");
        assertThatThrownBy(() -> CommandLine.resolve(new String[] {"--config", file.toString()},
                Map.of("WOSLO_TOKEN", "   ")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("WOSLO_TOKEN")
                .hasMessageContaining("only whitespace");
        assertThatThrownBy(() -> CommandLine.resolve(new String[] {"--config", file.toString(), "--token", " \t"},
                Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--token")
                .hasMessageContaining("only whitespace");
        assertThat(CommandLine.resolve(new String[] {"--config", file.toString()}, Map.of("WOSLO_TOKEN", ""))
                .tokenRequired()).as("an empty variable is an unset one").isFalse();
    }

    @Test
    void aTokenFlagWinsOverTheFilesTokenFile() throws IOException {
        Path token = Files.writeString(dir.resolve("token"), "from-file\n");
        Path file = file("c.yaml", "http: { tokenFile: '" + token + "' }\netcd: { local: true }\n");
        assertThat(CommandLine.resolve(new String[] {"--config", file.toString()}, Map.of()).token())
                .isEqualTo("from-file");
        assertThat(CommandLine.resolve(new String[] {"--config", file.toString()}, Map.of("WOSLO_TOKEN", "env"))
                .token()).isEqualTo("env");
        assertThat(CommandLine.resolve(new String[] {"--config", file.toString(), "--token=flag"},
                Map.of("WOSLO_TOKEN", "env")).token()).isEqualTo("flag");
    }

    @Test
    void switchesTakeNoValueAndValuedFlagsNeedOne() {
        CommandLine.Flags flags = CommandLine.parse(new String[] {"--help", "--port", "1", "--version",
                "--local-etcd"});
        assertThat(flags.switches()).containsExactlyInAnyOrder("help", "version", "local-etcd");
        assertThat(flags.values()).containsExactly(Map.entry("port", "1"));
        assertThatThrownBy(() -> CommandLine.parse(new String[] {"--local-etcd=yes"}))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--local-etcd takes no value");
        assertThatThrownBy(() -> CommandLine.parse(new String[] {"--port", "--help"}))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--port needs a value");
        assertThatThrownBy(() -> CommandLine.parse(new String[] {"--etcd"}))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--etcd needs a value");
        assertThatThrownBy(() -> CommandLine.parse(new String[] {"stray"}))
                .isInstanceOf(ConfigException.class).hasMessageContaining("'stray'");
    }

    @Test
    void theUsageNamesEveryFlagAndVariable() {
        for (String name : new String[] {"--config", "--host", "--port", "--etcd", "--local-etcd", "--namespace",
                "--token", "--help", "--version", "WOSLO_CONFIG", "WOSLO_HOST", "WOSLO_PORT", "WOSLO_ETCD_ENDPOINTS",
                "WOSLO_NAMESPACE", "WOSLO_TOKEN", "http.tokenFile", "etcd.local: true"}) {
            assertThat(CommandLine.USAGE).contains(name);
        }
    }

    @Test
    void theVersionIsDevWithoutAManifest() {
        assertThat(Main.class.getPackage().getImplementationVersion()).as("tests run from target/classes").isNull();
        assertThat(Main.version()).isEqualTo("dev");
    }
}
