package io.woslo.coordinator;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One read of the namespace key at start, on a client of its own with the coordinator's TLS and credentials, that
 * tells a configuration error from an etcd that is merely not answering yet:
 *
 * <ul>
 *   <li>etcd answers: the start goes on;</li>
 *   <li>etcd refuses the user or password, the user may not read the namespace, or the TLS handshake fails (a
 *       server certificate the CA does not sign, a client certificate etcd refuses, TLS against a plain port):
 *       {@link EtcdSetupException} naming the cause and the settings to look at, and the coordinator does not
 *       start;</li>
 *   <li>anything else (connection refused, no leader, no answer within the bound): a warning, and the start goes on;
 *       the readiness check reports etcd as it comes and goes.</li>
 * </ul>
 *
 * The probe's client does not wait for a ready channel, so a failed handshake comes back as the call's error.
 */
final class EtcdStartProbe {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdStartProbe.class);

    /** A configuration that etcd refuses; the coordinator does not start with it. */
    static final class EtcdSetupException extends IllegalStateException {
        EtcdSetupException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private EtcdStartProbe() {
    }

    /**
     * Probes {@code endpoints} with {@code etcd}'s settings for at most {@code bound}.
     *
     * @throws EtcdSetupException when etcd refuses the credentials or the TLS setup
     */
    static void check(CoordinatorConfig.Etcd etcd, List<String> endpoints, Duration bound) {
        FirstFailure failures = new FirstFailure();
        long deadline = System.nanoTime() + bound.toNanos();
        try (Client client = EtcdClients.builder(etcd, endpoints, List.of(failures)).waitForReady(false).build()) {
            CompletableFuture<?> read = client.getKVClient().get(
                    ByteSequence.from(etcd.namespace(), StandardCharsets.UTF_8),
                    GetOption.builder().withCountOnly(true).build());
            while (System.nanoTime() < deadline) {
                Status failed = failures.first.get();
                if (failed != null) {
                    verdict(etcd, endpoints, failed);
                    return;
                }
                if (read.isDone()) {
                    if (!read.isCompletedExceptionally()) {
                        LOG.info("etcd {} answers{}{}", endpoints,
                                EtcdClients.usesTls(etcd, endpoints) ? " over TLS" : "",
                                etcd.user().isEmpty() ? "" : " as user '" + etcd.user() + "'");
                        return;
                    }
                    verdict(etcd, endpoints, Status.fromThrowable(read.handle((v, e) -> e).join()));
                    return;
                }
                try {
                    read.get(20, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while probing etcd", e);
                } catch (Exception ignored) {
                    // looked at on the next round
                }
            }
            LOG.warn("etcd {} did not answer within {} at start; starting anyway, /health/ready says when it does",
                    endpoints, bound);
        }
    }

    /** Throws for a failure that a retry cannot cure; logs any other. */
    private static void verdict(CoordinatorConfig.Etcd etcd, List<String> endpoints, Status status) {
        String refusal = refusal(etcd, endpoints, status);
        if (refusal != null) {
            throw new EtcdSetupException(refusal, status.asRuntimeException());
        }
        LOG.warn("etcd {} is not answering at start ({}); starting anyway, /health/ready says when it does",
                endpoints, describe(status));
    }

    /** The message for a failure that is a configuration error, or null for one that may pass. */
    static String refusal(CoordinatorConfig.Etcd etcd, List<String> endpoints, Status status) {
        String description = String.valueOf(status.getDescription()).toLowerCase(Locale.ROOT);
        String user = "etcd.user '" + etcd.user() + "'";
        if (description.contains("authentication failed") || description.contains("invalid user id or password")) {
            return "etcd " + endpoints + " refused " + user + ": wrong password or unknown user (etcd says: "
                    + status.getDescription() + "); check etcd.user and etcd.passwordFile / etcd.password /"
                    + " WOSLO_ETCD_PASSWORD";
        }
        if (description.contains("authentication is not enabled")) {
            return "etcd " + endpoints + " has authentication disabled but " + user + " is configured; remove"
                    + " etcd.user and the password, or enable authentication in etcd";
        }
        if (description.contains("permission denied")) {
            return "etcd " + endpoints + " denies " + (etcd.user().isEmpty() ? "an unauthenticated client" : user)
                    + " access to the namespace " + etcd.namespace() + " (etcd says: " + status.getDescription()
                    + "); grant its role readwrite on the prefix " + etcd.namespace() + ", or configure etcd.user";
        }
        if (description.contains("user name is empty") || description.contains("invalid auth token")
                && etcd.user().isEmpty()) {
            return "etcd " + endpoints + " requires authentication: set etcd.user and etcd.passwordFile (or"
                    + " etcd.password / WOSLO_ETCD_PASSWORD)";
        }
        return tlsRefusal(etcd, endpoints, status.getCause());
    }

    private static String tlsRefusal(CoordinatorConfig.Etcd etcd, List<String> endpoints, Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            String name = t.getClass().getSimpleName();
            String message = String.valueOf(t.getMessage());
            String lower = message.toLowerCase(Locale.ROOT);
            if (name.equals("NotSslRecordException")) {
                return "etcd " + endpoints + " does not speak TLS on that port; use http:// endpoints without"
                        + " etcd.tls, or enable TLS in etcd";
            }
            if (!(t instanceof SSLException) && !(t instanceof java.security.cert.CertificateException)) {
                continue;
            }
            String ca = etcd.tls().ca() == null ? "the JVM's default CAs (etcd.tls.ca is not set)"
                    : "etcd.tls.ca " + etcd.tls().ca();
            if (lower.contains("pkix") || lower.contains("certification path") || lower.contains("unable to find")) {
                return "TLS handshake with etcd " + endpoints + " failed: etcd's server certificate is not signed"
                        + " by " + ca + " (" + message + ")";
            }
            if (lower.contains("subject alternative name") || lower.contains("no name matching")) {
                return "TLS handshake with etcd " + endpoints + " failed: etcd's server certificate does not name"
                        + " the host of the endpoint (" + message + ")";
            }
            if (lower.contains("bad_certificate") || lower.contains("certificate_required")
                    || lower.contains("unknown_ca") || lower.contains("certificate_unknown")) {
                return "TLS handshake with etcd " + endpoints + " failed: etcd refused the client certificate "
                        + (etcd.tls().cert() == null ? "(none is configured: set etcd.tls.cert and etcd.tls.key)"
                        : "etcd.tls.cert " + etcd.tls().cert() + " (is it signed by a CA etcd trusts?)")
                        + " (" + message + ")";
            }
            return "TLS handshake with etcd " + endpoints + " failed (" + ca + ", client certificate "
                    + (etcd.tls().cert() == null ? "none" : etcd.tls().cert()) + "): " + message;
        }
        return null;
    }

    private static String describe(Status status) {
        Throwable cause = status.getCause();
        return status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription())
                + (cause == null ? "" : " (" + cause + ")");
    }

    /** Remembers the first call that ended with an error, with its cause. */
    private static final class FirstFailure implements ClientInterceptor {
        final AtomicReference<Status> first = new AtomicReference<>();

        @Override
        public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options,
                                                     Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                @Override
                public void start(Listener<A> listener, Metadata headers) {
                    super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                        @Override
                        public void onClose(Status status, Metadata trailers) {
                            if (!status.isOk()) {
                                first.compareAndSet(null, status);
                            }
                            super.onClose(status, trailers);
                        }
                    }, headers);
                }
            };
        }
    }
}
