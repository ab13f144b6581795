package io.woslo.coordinator;

import ch.qos.logback.core.PropertyDefinerBase;
import java.util.Locale;

/**
 * Picks the console log format for {@code logback.xml}: {@code json} (one JSON object per line, logback's
 * {@code JsonEncoder}) when the system property {@value #PROPERTY} or else the environment variable {@value #ENV}
 * says {@code json} (any case), {@code text} otherwise. An unknown value falls back to text with a warning in
 * logback's status output, so a typo never silences the log.
 */
public final class LogFormat extends PropertyDefinerBase {
    static final String PROPERTY = "woslo.log.format";
    static final String ENV = "WOSLO_LOG_FORMAT";

    @Override
    public String getPropertyValue() {
        String setting = System.getProperty(PROPERTY);
        if (setting == null || setting.isBlank()) {
            setting = System.getenv(ENV);
        }
        String format = choose(setting);
        if (setting != null && !setting.isBlank() && !format.equals(setting.trim().toLowerCase(Locale.ROOT))) {
            addWarn(ENV + "/" + PROPERTY + " '" + setting + "' is neither 'text' nor 'json'; logging text");
        }
        return format;
    }

    /** {@code json} for "json" in any case and spacing, else {@code text}. */
    static String choose(String setting) {
        return setting != null && setting.trim().equalsIgnoreCase("json") ? "json" : "text";
    }
}
