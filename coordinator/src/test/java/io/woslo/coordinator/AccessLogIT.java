package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/**
 * Every request is logged once with method, path, status, time and request id; a sane incoming {@code X-Request-Id}
 * is kept, anything else replaced, and the id is echoed in the response. The log lines are caught by an appender on
 * the access logger.
 */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AccessLogIT {
    private static final String TOKEN = "access-token";
    private final Logger access = (Logger) LoggerFactory.getLogger(AccessLog.LOGGER);
    private final Caught caught = new Caught();
    private Level levelBefore;
    private Coordinator coordinator;
    private HttpClient client;

    @BeforeAll
    void start(EtcdCluster etcd) {
        coordinator = TestCoordinators.start(etcd, TestCoordinators.freshNamespace("access"), TOKEN,
                "CPUA: { source: static, used: 1, quota: 5 }");
        client = HttpClient.newHttpClient();
        levelBefore = access.getLevel();
        access.setLevel(Level.DEBUG);
        caught.start();
        access.addAppender(caught);
    }

    @AfterAll
    void stop() {
        access.detachAppender(caught);
        access.setLevel(levelBefore);
        coordinator.close();
    }

    @Test
    void aSaneIncomingIdIsKeptEchoedAndLoggedWithTheRequest() throws Exception {
        HttpResponse<String> response = send("/used_quota?account=a", "req-42.a:b_c", true);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("X-Request-Id")).hasValue("req-42.a:b_c");

        ILoggingEvent event = caught.next("req-42.a:b_c");
        assertThat(event.getLevel()).isEqualTo(Level.INFO);
        assertThat(event.getFormattedMessage()).startsWith("GET /used_quota 200 ").endsWith(" ms id=req-42.a:b_c")
                .doesNotContain("account=a");
        Map<String, Object> fields = fields(event);
        assertThat(fields).containsEntry("method", "GET").containsEntry("path", "/used_quota")
                .containsEntry("status", 200).containsEntry("requestId", "req-42.a:b_c").containsKey("durationMs");
    }

    @Test
    void withoutAnIdOrWithAnInsaneOneANewOneIsMadeAndEchoed() throws Exception {
        for (String incoming : new String[] {null, "x".repeat(129), "two words", "semi;colon"}) {
            HttpResponse<String> response = send("/used_quota?account=a", incoming, true);
            String id = response.headers().firstValue("X-Request-Id").orElseThrow();
            assertThat(id).as("for %s", incoming).matches("[0-9a-f]{16}");
            assertThat(caught.next(id).getFormattedMessage()).contains(" 200 ");
        }
    }

    @Test
    void refusedRequestsAreLoggedAtInfoAndAnsweredProbesAtDebug() throws Exception {
        HttpResponse<String> unauthorized = send("/used_quota?account=a", "refused-1", false);
        assertThat(unauthorized.statusCode()).isEqualTo(401);
        ILoggingEvent refused = caught.next("refused-1");
        assertThat(refused.getLevel()).isEqualTo(Level.INFO);
        assertThat(refused.getFormattedMessage()).startsWith("GET /used_quota 401 ");
        assertThat(unauthorized.headers().firstValue("X-Request-Id")).as("echoed on errors too").hasValue("refused-1");

        assertThat(send("/nowhere", "missing-1", true).statusCode()).isEqualTo(404);
        assertThat(caught.next("missing-1").getFormattedMessage()).startsWith("GET /nowhere 404 ");

        assertThat(send("/health/live", "probe-1", false).statusCode()).isEqualTo(200);
        ILoggingEvent probe = caught.next("probe-1");
        assertThat(probe.getLevel()).isEqualTo(Level.DEBUG);
        assertThat(probe.getFormattedMessage()).startsWith("GET /health/live 200 ");
    }

    private HttpResponse<String> send(String path, String requestId, boolean withToken) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(coordinator.baseUrl() + path))
                .timeout(TestTimeouts.step()).GET();
        if (requestId != null) {
            request.header("X-Request-Id", requestId);
        }
        if (withToken) {
            request.header("Authorization", "Bearer " + TOKEN);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static Map<String, Object> fields(ILoggingEvent event) {
        return event.getKeyValuePairs().stream().collect(Collectors.toMap(kv -> kv.key, kv -> kv.value));
    }

    /** Keeps the access log's events for the test to take in order; the line is written after the answer is sent. */
    private static final class Caught extends AppenderBase<ILoggingEvent> {
        private final BlockingQueue<ILoggingEvent> events = new LinkedBlockingQueue<>();

        @Override
        protected void append(ILoggingEvent event) {
            events.add(event);
        }

        /** The event of request {@code id}, waiting for it within the step bound; others' are dropped. */
        ILoggingEvent next(String id) throws InterruptedException {
            long deadline = System.nanoTime() + TestTimeouts.step().toNanos();
            java.util.List<String> others = new java.util.ArrayList<>();
            while (true) {
                ILoggingEvent event = events.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (event == null) {
                    throw new AssertionError("no access log line for request " + id + " within " + TestTimeouts.step()
                            + "; other lines: " + others);
                }
                others.add(event.getFormattedMessage());
                if (event.getFormattedMessage().endsWith("id=" + id)) {
                    return event;
                }
            }
        }
    }
}
