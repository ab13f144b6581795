package io.woslo.coordinator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Bearer tokens from the file, a flag or the environment. */
final class Tokens {
    private Tokens() {
    }

    /** The token as given; one that is only whitespace is refused, naming the setting (never the token). */
    static String check(String setting, String token) {
        if (token != null && !token.isEmpty() && token.isBlank()) {
            throw new ConfigException(setting + ": the token is only whitespace; set a real token, or none");
        }
        return token;
    }

    /**
     * {@code http.token}, or the content of {@code http.tokenFile} (surrounding whitespace dropped), which must hold
     * one; not both.
     */
    static String fromSettings(String token, Path file) {
        if (file == null) {
            return check("http.token", token);
        }
        if (!token.isEmpty()) {
            throw new ConfigException("http.token and http.tokenFile are both set; keep one");
        }
        String fromFile;
        try {
            fromFile = Files.readString(file).strip();
        } catch (IOException e) {
            throw new ConfigException("http.tokenFile: cannot read " + file + ": " + e, e);
        }
        if (fromFile.isEmpty()) {
            throw new ConfigException("http.tokenFile: " + file + " holds no token (empty or only whitespace)");
        }
        return fromFile;
    }
}
