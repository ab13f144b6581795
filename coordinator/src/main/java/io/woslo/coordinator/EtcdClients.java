package io.woslo.coordinator;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.grpc.ClientInterceptor;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The coordinator's jetcd {@link Client}: endpoints, TLS ({@code etcd.tls}: the CA to trust, the client certificate
 * and its key, PEM) and authentication ({@code etcd.user} with the password from {@code etcd.passwordFile},
 * {@code etcd.password} or {@code WOSLO_ETCD_PASSWORD}). {@code https://} endpoints without {@code etcd.tls.ca}
 * trust the JVM's default CAs.
 *
 * <p>The key must be unencrypted PKCS#8 ({@code -----BEGIN PRIVATE KEY-----}), which is what Netty reads; a
 * PKCS#1 or SEC1 key ({@code BEGIN RSA PRIVATE KEY}, {@code BEGIN EC PRIVATE KEY}) is refused with the
 * {@code openssl pkcs8 -topk8 -nocrypt} command that converts it.
 */
final class EtcdClients {
    private EtcdClients() {
    }

    /** A client for {@code endpoints} with {@code etcd}'s TLS and credentials; the interceptors see every call. */
    static Client build(CoordinatorConfig.Etcd etcd, List<String> endpoints, List<ClientInterceptor> interceptors) {
        return builder(etcd, endpoints, interceptors).build();
    }

    /**
     * {@link #build}'s builder. A probe sets {@code waitForReady(false)} on it, so a call on a channel that cannot
     * connect (a failed TLS handshake) fails with its cause instead of waiting for the channel.
     */
    static ClientBuilder builder(CoordinatorConfig.Etcd etcd, List<String> endpoints,
                                 List<ClientInterceptor> interceptors) {
        ClientBuilder builder = Client.builder().endpoints(endpoints.toArray(String[]::new))
                .interceptors(new ArrayList<>(interceptors));
        if (usesTls(etcd, endpoints)) {
            builder.sslContext(sslContext(etcd.tls()));
        }
        if (!etcd.user().isEmpty()) {
            builder.user(ByteSequence.from(etcd.user(), StandardCharsets.UTF_8))
                    .password(ByteSequence.from(password(etcd), StandardCharsets.UTF_8));
        }
        return builder;
    }

    /** Whether the client speaks TLS: certificates are configured or an endpoint is {@code https://}. */
    static boolean usesTls(CoordinatorConfig.Etcd etcd, List<String> endpoints) {
        return etcd.tls().configured() || endpoints.stream().anyMatch(e -> e.startsWith("https://"));
    }

    /**
     * The password: {@code etcd.password} (set by the file or {@code WOSLO_ETCD_PASSWORD}), else the content of
     * {@code etcd.passwordFile} without surrounding whitespace.
     *
     * @throws ConfigException naming the file when it cannot be read or holds nothing
     */
    static String password(CoordinatorConfig.Etcd etcd) {
        if (!etcd.password().isEmpty() || etcd.passwordFile() == null) {
            return etcd.password();
        }
        String fromFile;
        try {
            fromFile = Files.readString(etcd.passwordFile()).strip();
        } catch (IOException e) {
            throw new ConfigException("etcd.passwordFile: cannot read " + etcd.passwordFile() + ": " + e, e);
        }
        if (fromFile.isEmpty()) {
            throw new ConfigException("etcd.passwordFile: " + etcd.passwordFile()
                    + " holds no password (empty or only whitespace)");
        }
        return fromFile;
    }

    /**
     * A gRPC client TLS context from PEM files: {@code tls.ca} trusted (the JVM's CAs when absent), {@code tls.cert}
     * and {@code tls.key} presented when set.
     *
     * @throws ConfigException naming the file that is not usable PEM
     */
    static SslContext sslContext(CoordinatorConfig.Tls tls) {
        SslContextBuilder builder = GrpcSslContexts.forClient();
        if (tls.ca() != null) {
            checkPem("etcd.tls.ca", tls.ca(), "CERTIFICATE");
            builder.trustManager(tls.ca().toFile());
        }
        if (tls.cert() != null) {
            checkPem("etcd.tls.cert", tls.cert(), "CERTIFICATE");
            checkKey(tls.key());
            builder.keyManager(tls.cert().toFile(), tls.key().toFile());
        }
        try {
            return builder.build();
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("etcd.tls: cannot build a TLS context from " + tls + ": " + e.getMessage(), e);
        }
    }

    /** Checks the TLS files' PEM kinds, so a bad file is a configuration error before anything starts. */
    static void check(CoordinatorConfig.Tls tls) {
        if (tls.ca() != null) {
            checkPem("etcd.tls.ca", tls.ca(), "CERTIFICATE");
        }
        if (tls.cert() != null) {
            checkPem("etcd.tls.cert", tls.cert(), "CERTIFICATE");
            checkKey(tls.key());
        }
    }

    private static void checkKey(Path key) {
        String pem = read("etcd.tls.key", key);
        if (pem.contains("-----BEGIN PRIVATE KEY-----")) {
            return;
        }
        String convert = "; convert it with: openssl pkcs8 -topk8 -nocrypt -in " + key + " -out key-pkcs8.pem";
        if (pem.contains("-----BEGIN RSA PRIVATE KEY-----") || pem.contains("-----BEGIN EC PRIVATE KEY-----")) {
            throw new ConfigException("etcd.tls.key: " + key + " is a PKCS#1/SEC1 key; an unencrypted PKCS#8 key"
                    + " (BEGIN PRIVATE KEY) is needed" + convert);
        }
        if (pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
            throw new ConfigException("etcd.tls.key: " + key + " is encrypted; an unencrypted PKCS#8 key"
                    + " (BEGIN PRIVATE KEY) is needed" + convert);
        }
        throw new ConfigException("etcd.tls.key: " + key + " holds no PEM private key (BEGIN PRIVATE KEY)");
    }

    private static void checkPem(String setting, Path file, String kind) {
        if (!read(setting, file).contains("-----BEGIN " + kind + "-----")) {
            throw new ConfigException(setting + ": " + file + " holds no PEM " + kind.toLowerCase(java.util.Locale.ROOT)
                    + " (-----BEGIN " + kind + "-----)");
        }
    }

    private static String read(String setting, Path file) {
        try {
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new ConfigException(setting + ": cannot read " + file + ": " + e, e);
        } catch (RuntimeException e) {
            throw new ConfigException(setting + ": " + file + " is not a PEM text file", e);
        }
    }
}
