package io.woslo.coordinator;

import io.woslo.testing.TestTimeouts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates made with {@code openssl} for one test: a CA, server certificates for 127.0.0.1 and client
 * certificates it signs. EC P-256 keys in PKCS#8 PEM, valid for one day.
 */
final class TestCerts {
    private final Path dir;
    private final String name;

    private TestCerts(Path dir, String name) {
        this.dir = dir;
        this.name = name;
    }

    /** A new CA called {@code name} with its files in {@code dir}. */
    static TestCerts ca(Path dir, String name) {
        TestCerts ca = new TestCerts(dir, name);
        openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", ca.key().toString(), "-out", ca.cert().toString(), "-days", "1",
                "-subj", "/CN=" + name);
        return ca;
    }

    Path cert() {
        return dir.resolve(name + ".pem");
    }

    Path key() {
        return dir.resolve(name + "-key.pem");
    }

    /** A server certificate for 127.0.0.1 signed by this CA: {@code [cert, key]}. */
    Path[] server(String leaf) {
        return sign(leaf, "127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    }

    /** A client certificate with common name {@code commonName} signed by this CA: {@code [cert, key]}. */
    Path[] client(String leaf, String commonName) {
        return sign(leaf, commonName, "extendedKeyUsage=clientAuth\n");
    }

    private Path[] sign(String leaf, String commonName, String extensions) {
        Path cert = dir.resolve(leaf + ".pem");
        Path key = dir.resolve(leaf + "-key.pem");
        Path csr = dir.resolve(leaf + ".csr");
        Path ext = dir.resolve(leaf + ".ext");
        try {
            Files.writeString(ext, extensions, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + commonName);
        openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", cert().toString(), "-CAkey", key().toString(),
                "-set_serial", String.valueOf(System.nanoTime() & 0xffffffL), "-days", "1",
                "-extfile", ext.toString(), "-out", cert.toString());
        return new Path[] {cert, key};
    }

    /** {@code key} rewritten in the traditional (SEC1 / PKCS#1) form that Netty does not read. */
    static Path traditional(Path key, Path out) {
        openssl(key.getParent(), "ec", "-in", key.toString(), "-out", out.toString());
        return out;
    }

    static void openssl(Path dir, String... args) {
        List<String> command = new ArrayList<>();
        command.add("openssl");
        command.addAll(List.of(args));
        Path log = dir.resolve("openssl.log");
        try {
            Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            if (!process.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("openssl hung: " + command);
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("openssl failed (" + process.exitValue() + "): " + command + "\n"
                        + Files.readString(log));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run openssl", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
