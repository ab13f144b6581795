package io.woslo.coordinator;

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
}
