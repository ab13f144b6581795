package io.woslo.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Collection;
import java.util.Optional;

/** Reads etcd's HTTP endpoints ({@code /health}, the gateway's {@code /v3/maintenance/status}) for the harness. */
final class EtcdHealth {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration FIRST_PAUSE = Duration.ofMillis(10);
    private static final Duration MAX_PAUSE = Duration.ofMillis(200);

    private EtcdHealth() {
    }

    /**
     * Waits until every member answers {@code /health} with {@code "health":"true"}. Readiness of a process we
     * just started has no event to wait for, so this polls with a short back-off until {@code timeout}.
     */
    static void awaitHealthy(Collection<? extends EtcdMember> members, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (EtcdMember member : members) {
            Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
            Optional<Boolean> healthy;
            try {
                healthy = Await.poll(left, FIRST_PAUSE, MAX_PAUSE, () -> {
                    if (isHealthy(member.clientUrl())) {
                        return Optional.of(true);
                    }
                    if (!member.isRunning()) {
                        throw new IllegalStateException("etcd member " + member + " exited during start-up"
                                + logHint(member));
                    }
                    return Optional.empty();
                });
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for etcd", e);
            }
            if (healthy.isEmpty()) {
                throw new IllegalStateException("etcd member " + member + " not healthy after " + timeout
                        + logHint(member));
            }
        }
    }

    static boolean isHealthy(URI clientUrl) {
        try {
            HttpResponse<String> response = HTTP.send(
                    HttpRequest.newBuilder(clientUrl.resolve("/health")).timeout(Duration.ofSeconds(2)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200
                    && JSON.readTree(response.body()).path("health").asText().equals("true");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The member's own id and the id of the leader it knows, or empty when it does not answer. */
    static Optional<long[]> memberAndLeader(URI clientUrl) {
        try {
            HttpResponse<String> response = HTTP.send(
                    HttpRequest.newBuilder(clientUrl.resolve("/v3/maintenance/status"))
                            .timeout(Duration.ofSeconds(2))
                            .POST(HttpRequest.BodyPublishers.ofString("{}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                return Optional.empty();
            }
            JsonNode status = JSON.readTree(response.body());
            long self = Long.parseUnsignedLong(status.path("header").path("member_id").asText("0"));
            long leader = Long.parseUnsignedLong(status.path("leader").asText("0"));
            return Optional.of(new long[] {self, leader});
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static String logHint(EtcdMember member) {
        return member instanceof ProcessEtcdMember p ? " (log: " + p.logFile() + ")" : "";
    }
}
