package io.woslo.coordinator;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Times every unary etcd call of the coordinator's jetcd client into {@code woslo.etcd.requests} (Prometheus
 * {@code woslo_etcd_requests_seconds}), tagged with the gRPC method ({@code Range}, {@code Txn}, {@code Put},
 * {@code DeleteRange}, {@code LeaseGrant}, {@code LeaseRevoke}, ...) and the gRPC status code ({@code OK},
 * {@code UNAVAILABLE}, {@code DEADLINE_EXCEEDED}, ...). Both label sets are closed: methods of etcd's own services
 * only (anything else is {@code other}), status codes from gRPC's enumeration. Streams (watches, lease keep-alives)
 * live as long as their subject and are not timed. A call's time runs from its start to the answer or failure that
 * closes it, as the library sees it (jetcd's own retries included).
 */
final class EtcdCallMetrics implements ClientInterceptor {
    /** Histogram buckets: an etcd call takes a few milliseconds; seconds mean trouble. */
    private static final Duration[] BUCKETS = {
        Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
        Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
        Duration.ofSeconds(10),
    };

    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();

    EtcdCallMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
        ClientCall<Q, A> call = next.newCall(method, options);
        if (method.getType() != MethodDescriptor.MethodType.UNARY) {
            return call;
        }
        String name = methodLabel(method);
        return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
            @Override
            public void start(Listener<A> listener, Metadata headers) {
                long start = System.nanoTime();
                super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        timer(name, status.getCode()).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
                        super.onClose(status, trailers);
                    }
                }, headers);
            }
        };
    }

    /** The bare method name of etcd's own services ({@code etcdserverpb.KV/Range} gives {@code Range}), else other. */
    static String methodLabel(MethodDescriptor<?, ?> method) {
        String service = method.getServiceName();
        String bare = method.getBareMethodName();
        boolean etcd = service != null && (service.startsWith("etcdserverpb.") || service.startsWith("v3lockpb.")
                || service.startsWith("v3electionpb."));
        return etcd && bare != null && bare.length() <= 40 && bare.chars().allMatch(Character::isLetterOrDigit)
                ? bare : "other";
    }

    private Timer timer(String method, Status.Code code) {
        return timers.computeIfAbsent(method + ' ' + code, k -> Timer.builder("woslo.etcd.requests")
                .description("etcd calls (unary gRPC) by method and gRPC status")
                .tag("method", method)
                .tag("status", code.name())
                .serviceLevelObjectives(BUCKETS)
                .register(registry));
    }
}
