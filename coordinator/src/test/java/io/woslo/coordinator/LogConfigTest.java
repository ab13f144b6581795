package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.joran.spi.JoranException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.event.KeyValuePair;

/**
 * The coordinator's logback.xml, loaded into a context of its own as the jar loads it: dated text lines by default,
 * one JSON object per line with {@code woslo.log.format=json}, levels from {@code woslo.log.level} and
 * {@code woslo.access.log.level}.
 */
class LogConfigTest {
    private static final String[] PROPERTIES = {LogFormat.PROPERTY, "woslo.log.level", "woslo.access.log.level"};
    private final Map<String, String> saved = new HashMap<>();

    LogConfigTest() {
        for (String property : PROPERTIES) {
            saved.put(property, System.getProperty(property));
        }
    }

    @AfterEach
    void restoreProperties() {
        saved.forEach((property, value) -> {
            if (value == null) {
                System.clearProperty(property);
            } else {
                System.setProperty(property, value);
            }
        });
    }

    @Test
    void textByDefaultWithADatedTimestamp() throws Exception {
        System.clearProperty(LogFormat.PROPERTY);
        LoggerContext context = configure();
        String line = encode(context);
        assertThat(line).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}(Z|[+-]\\d{2}:\\d{2}) INFO  "
                + "\\[main] io\\.woslo\\.coordinator\\.access - GET /x 200 id=abc\\R");
        assertThat(context.getLogger("io.woslo").getLevel()).isEqualTo(Level.INFO);
        context.stop();
    }

    @Test
    void jsonWhenAskedInAnyCaseWithTheKeyValuePairs() throws Exception {
        System.setProperty(LogFormat.PROPERTY, " JSON ");
        LoggerContext context = configure();
        assertThat(rootEncoder(context)).isInstanceOf(JsonEncoder.class);
        JsonNode json = new ObjectMapper().readTree(encode(context));
        assertThat(json.get("level").asText()).isEqualTo("INFO");
        assertThat(json.get("loggerName").asText()).isEqualTo(AccessLog.LOGGER);
        assertThat(json.get("formattedMessage").asText()).isEqualTo("GET /x 200 id=abc");
        assertThat(json.get("timestamp").asLong()).isPositive();
        assertThat(json.has("message")).as("only the formatted message").isFalse();
        assertThat(json.get("kvpList").toString()).contains("\"requestId\":\"abc\"");
        context.stop();
    }

    @Test
    void anUnknownFormatFallsBackToText() throws Exception {
        System.setProperty(LogFormat.PROPERTY, "yaml");
        LoggerContext context = configureAllowingWarnings();
        assertThat(context.getStatusManager().getCopyOfStatusList()).as("the typo is named in logback's status")
                .anyMatch(status -> status.getLevel() == ch.qos.logback.core.status.Status.WARN
                        && status.getMessage().contains("'yaml'"));
        assertThat(rootEncoder(context)).isNotInstanceOf(JsonEncoder.class);
        context.stop();
    }

    @Test
    void levelsComeFromTheProperties() throws Exception {
        System.setProperty("woslo.log.level", "DEBUG");
        System.setProperty("woslo.access.log.level", "OFF");
        LoggerContext context = configure();
        assertThat(context.getLogger("io.woslo").getLevel()).isEqualTo(Level.DEBUG);
        assertThat(context.getLogger(AccessLog.LOGGER).getLevel()).isEqualTo(Level.OFF);
        context.stop();
    }

    @Test
    void theAccessLogFollowsTheWosloLevelUnlessSetApart() throws Exception {
        System.setProperty("woslo.log.level", "WARN");
        LoggerContext context = configure();
        assertThat(context.getLogger(AccessLog.LOGGER).getLevel()).isEqualTo(Level.WARN);
        context.stop();
    }

    private static LoggerContext configure() throws JoranException {
        LoggerContext context = configureAllowingWarnings();
        assertThat(context.getStatusManager().getCopyOfStatusList())
                .as("no warning or error while configuring (logback would print its status at every start)")
                .allMatch(status -> status.getEffectiveLevel() < ch.qos.logback.core.status.Status.WARN);
        return context;
    }

    private static LoggerContext configureAllowingWarnings() throws JoranException {
        URL config = LogFormat.class.getResource("/logback.xml");
        assertThat(config).as("the coordinator's logback.xml").isNotNull();
        assertThat(config.getPath()).contains("coordinator");
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        configurator.doConfigure(config);
        return context;
    }

    private static Encoder<ch.qos.logback.classic.spi.ILoggingEvent> rootEncoder(LoggerContext context) {
        var appender = context.getLogger("ROOT").getAppender("CONSOLE");
        assertThat(appender).as("the root logger writes through the CONSOLE appender").isNotNull();
        return ((OutputStreamAppender<ch.qos.logback.classic.spi.ILoggingEvent>) appender).getEncoder();
    }

    private static String encode(LoggerContext context) throws IOException {
        LoggingEvent event = new LoggingEvent(LogConfigTest.class.getName(), context.getLogger(AccessLog.LOGGER),
                Level.INFO, "{} {} {} id={}", null, new Object[] {"GET", "/x", 200, "abc"});
        event.setThreadName("main");
        event.addKeyValuePair(new KeyValuePair("requestId", "abc"));
        return new String(rootEncoder(context).encode(event), StandardCharsets.UTF_8);
    }
}
