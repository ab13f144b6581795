package io.woslo.coordinator;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the durations of the config file: "3m", "1m30s", "30s", "500ms", "2h", "1d", or ISO-8601 "PT3M". */
final class Durations {
    private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

    private Durations() {
    }

    static Duration parse(String setting, String text) {
        if (text == null || text.isBlank()) {
            throw new ConfigException(setting + ": a duration is needed (e.g. 30s, 3m, 500ms)");
        }
        String value = text.trim();
        if (value.startsWith("P") || value.startsWith("p")) {
            try {
                return positive(setting, text, Duration.parse(value));
            } catch (java.time.format.DateTimeParseException e) {
                throw bad(setting, text);
            }
        }
        Matcher m = PART.matcher(value);
        Duration total = Duration.ZERO;
        int end = 0;
        while (m.find() && m.start() == end) {
            total = total.plus(unit(Long.parseLong(m.group(1)), m.group(2)));
            end = m.end();
        }
        if (end == 0 || end != value.length()) {
            throw bad(setting, text);
        }
        return positive(setting, text, total);
    }

    private static Duration unit(long amount, String unit) {
        return switch (unit) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            default -> Duration.ofDays(amount);
        };
    }

    private static Duration positive(String setting, String text, Duration d) {
        if (d.isZero() || d.isNegative()) {
            throw new ConfigException(setting + ": the duration must be positive, got '" + text + "'");
        }
        return d;
    }

    private static ConfigException bad(String setting, String text) {
        return new ConfigException(setting + ": '" + text + "' is not a duration (use e.g. 30s, 3m, 1m30s, 500ms)");
    }
}
