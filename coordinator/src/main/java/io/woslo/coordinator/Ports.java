package io.woslo.coordinator;

/** Port numbers from the config file, a flag or the environment. */
final class Ports {
    private Ports() {
    }

    /** A port 0..65535 (0 picks a free one); the error names the setting and the value. */
    static int parse(String setting, String text) {
        try {
            int port = Integer.parseInt(text == null ? "" : text.trim());
            if (port >= 0 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new ConfigException(setting + ": '" + text + "' is not a port number (0-65535)");
    }
}
