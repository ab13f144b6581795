package io.woslo.coordinator;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/** etcd endpoint lists: "http://h1:2379,http://h2:2379". */
final class Endpoints {
    private Endpoints() {
    }

    static List<String> split(String setting, String text) {
        List<String> out = new ArrayList<>();
        for (String part : text.split(",")) {
            if (!part.isBlank()) {
                out.add(part.trim());
            }
        }
        return validate(setting, out);
    }

    static List<String> validate(String setting, List<String> endpoints) {
        for (String endpoint : endpoints) {
            URI uri;
            try {
                uri = URI.create(endpoint);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(setting + ": '" + endpoint + "' is not a URL");
            }
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                    || uri.getPort() < 0) {
                throw new ConfigException(setting + ": '" + endpoint
                        + "' is not an etcd endpoint URL like http://127.0.0.1:2379");
            }
        }
        return List.copyOf(endpoints);
    }
}
