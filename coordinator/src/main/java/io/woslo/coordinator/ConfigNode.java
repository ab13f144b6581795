package io.woslo.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import io.woslo.internal.KeyLayout;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One mapping of the YAML config, read with errors that name the setting's full path and the bad value. */
final class ConfigNode {
    private final String path;
    private final JsonNode node;

    ConfigNode(String path, JsonNode node) {
        this.path = path;
        this.node = node == null || node.isNull() || node.isMissingNode() ? null : node;
        if (this.node != null && !this.node.isObject()) {
            throw new ConfigException(where() + "must be a mapping, got " + node);
        }
    }

    /** Refuses keys other than {@code allowed}, so a typo is an error rather than a silent default. */
    ConfigNode only(Set<String> allowed) {
        if (node != null) {
            for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!allowed.contains(name)) {
                    throw new ConfigException("unknown setting '" + child(name) + "'; known here: "
                            + allowed.stream().sorted().toList());
                }
            }
        }
        return this;
    }

    ConfigNode object(String key) {
        return new ConfigNode(child(key), node == null ? null : node.get(key));
    }

    boolean has(String key) {
        return node != null && node.hasNonNull(key);
    }

    String text(String key, String fallback) {
        if (!has(key)) {
            return fallback;
        }
        JsonNode value = node.get(key);
        if (!value.isValueNode()) {
            throw new ConfigException(child(key) + ": expected a text value, got " + value);
        }
        return value.asText();
    }

    String requiredText(String key) {
        String value = text(key, null);
        if (value == null || value.isBlank()) {
            throw new ConfigException(child(key) + " is required");
        }
        return value;
    }

    long nonNegativeLong(String key, Long fallback) {
        if (!has(key)) {
            if (fallback == null) {
                throw new ConfigException(child(key) + " is required");
            }
            return fallback;
        }
        return nonNegative(child(key), node.get(key));
    }

    boolean bool(String key, boolean fallback) {
        if (!has(key)) {
            return fallback;
        }
        JsonNode value = node.get(key);
        if (value.isBoolean()) {
            return value.asBoolean();
        }
        throw new ConfigException(child(key) + ": expected true or false, got " + value);
    }

    /** A file name resolved against {@code baseDir}; null when absent or empty. */
    Path path(String key, Path baseDir) {
        String text = text(key, "");
        if (text.isBlank()) {
            return null;
        }
        try {
            return baseDir.resolve(text.strip()).normalize();
        } catch (InvalidPathException e) {
            throw new ConfigException(child(key) + ": '" + text + "' is not a file name");
        }
    }

    /** {@link #path} that must name a readable regular file. */
    Path readableFile(String key, Path baseDir) {
        Path file = path(key, baseDir);
        if (file != null && !(Files.isRegularFile(file) && Files.isReadable(file))) {
            throw new ConfigException(child(key) + ": " + file + " is not a readable file");
        }
        return file;
    }

    int port(String key, int fallback) {
        return has(key) ? Ports.parse(child(key), text(key, null)) : fallback;
    }

    Duration duration(String key, Duration fallback) {
        return has(key) ? Durations.parse(child(key), text(key, null)) : fallback;
    }

    /**
     * A list of names (YAML sequence of strings), each checked with {@link KeyLayout#requireName} as {@code what};
     * empty when absent.
     */
    List<String> nameList(String key, String what) {
        if (!has(key)) {
            return List.of();
        }
        JsonNode value = node.get(key);
        if (!value.isArray()) {
            throw new ConfigException(child(key) + ": expected a list of names like [account1, account2], got "
                    + value);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode item : value) {
            if (!item.isTextual()) {
                throw new ConfigException(child(key) + ": expected a name, got " + item);
            }
            try {
                out.add(KeyLayout.requireName(what, item.asText()));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(child(key) + ": " + e.getMessage());
            }
        }
        return out;
    }

    List<String> textList(String key) {
        if (!has(key)) {
            return List.of();
        }
        JsonNode value = node.get(key);
        List<String> out = new ArrayList<>();
        if (value.isArray()) {
            value.forEach(item -> out.add(item.asText()));
        } else if (value.isTextual()) {
            out.addAll(Endpoints.split(child(key), value.asText()));
        } else {
            throw new ConfigException(child(key) + ": expected a list of URLs, got " + value);
        }
        return out;
    }

    /** The entries of a mapping of numbers, e.g. {@code quotas: {vip: 64}}. */
    Map<String, Long> longMap(String key) {
        Map<String, Long> out = new LinkedHashMap<>();
        ConfigNode map = object(key);
        if (map.node != null) {
            map.node.fields().forEachRemaining(
                    e -> out.put(e.getKey(), nonNegative(map.child(e.getKey()), e.getValue())));
        }
        return out;
    }

    /** The entries of a mapping of mappings, e.g. the resources. */
    Map<String, ConfigNode> children() {
        Map<String, ConfigNode> out = new LinkedHashMap<>();
        if (node != null) {
            node.fields().forEachRemaining(e -> out.put(e.getKey(), new ConfigNode(child(e.getKey()), e.getValue())));
        }
        return out;
    }

    String path() {
        return path;
    }

    private static long nonNegative(String setting, JsonNode value) {
        long parsed;
        if (value.isIntegralNumber() && value.canConvertToLong()) {
            parsed = value.asLong();
        } else if (value.isTextual() && value.asText().trim().matches("-?\\d{1,18}")) {
            parsed = Long.parseLong(value.asText().trim());
        } else {
            throw new ConfigException(setting + ": expected a whole number, got " + value);
        }
        if (parsed < 0) {
            throw new ConfigException(setting + ": must not be negative, got " + parsed);
        }
        return parsed;
    }

    private String child(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private String where() {
        return path.isEmpty() ? "the config " : path + " ";
    }
}
