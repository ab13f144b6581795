package io.woslo.coordinator;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.vertx.ext.web.RequestBody;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A JSON request body, checked before anything reaches the library: 415 unless the content type is JSON, 400 for
 * malformed JSON (anything after the object, a key given twice at any depth) or a field of the wrong type (amounts
 * must be whole numbers). Range checks (negative amounts,
 * unknown resources) are the library's, which names the bad value.
 */
final class JsonBody {
    /** Strict: one JSON value and nothing after it; a key repeated in an object is an error, not "last one wins". */
    private static final ObjectReader STRICT = Replies.JSON.reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
    private final JsonNode root;

    private JsonBody(JsonNode root) {
        this.root = root;
    }

    /** The body, or null when the request has none (an optional body). */
    static JsonBody optional(RoutingContext ctx) {
        RequestBody body = ctx.body();
        return body == null || body.length() <= 0 ? null : of(ctx);
    }

    /** Whether the body has {@code field}. */
    boolean has(String field) {
        JsonNode value = root.get(field);
        return value != null && !value.isNull();
    }

    /** A whole number. */
    long wholeNumber(String field) {
        JsonNode value = root.get(field);
        if (value == null || value.isNull()) {
            throw ApiException.badRequest("'" + field + "' is required");
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw ApiException.badRequest("'" + field + "' must be a whole number, got " + value);
        }
        return value.asLong();
    }

    static JsonBody of(RoutingContext ctx) {
        String type = ctx.request().getHeader("Content-Type");
        String mime = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(java.util.Locale.ROOT);
        if (!mime.equals("application/json") && !mime.endsWith("+json")) {
            throw new ApiException(415, "unsupported_media_type",
                    "the body must be application/json, got " + (type == null ? "no Content-Type" : "'" + type + "'"));
        }
        RequestBody body = ctx.body();
        if (body == null || body.length() <= 0) {
            throw ApiException.badRequest("the body is empty; a JSON object is expected");
        }
        JsonNode root;
        try {
            root = STRICT.readTree(body.buffer().getBytes());
        } catch (IOException e) {
            throw ApiException.badRequest("the body is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw ApiException.badRequest("the body must be a JSON object");
        }
        return new JsonBody(root);
    }

    String text(String field) {
        JsonNode value = root.get(field);
        if (value == null || value.isNull()) {
            throw ApiException.badRequest("'" + field + "' is required");
        }
        if (!value.isTextual()) {
            throw ApiException.badRequest("'" + field + "' must be a string, got " + value);
        }
        return value.asText();
    }

    /** A mapping of resource names to whole amounts, e.g. {@code {"CPUA":1}}. */
    Map<String, Long> amounts(String field) {
        JsonNode value = root.get(field);
        if (value == null || value.isNull()) {
            throw ApiException.badRequest("'" + field + "' is required, e.g. {\"CPUA\":1}");
        }
        if (!value.isObject()) {
            throw ApiException.badRequest("'" + field + "' must be an object of resource amounts, got " + value);
        }
        Map<String, Long> out = new LinkedHashMap<>();
        value.fields().forEachRemaining(entry -> {
            JsonNode amount = entry.getValue();
            if (!amount.isIntegralNumber() || !amount.canConvertToLong()) {
                throw ApiException.badRequest("'" + field + "." + entry.getKey() + "' must be a whole number, got "
                        + amount);
            }
            out.put(entry.getKey(), amount.asLong());
        });
        return out;
    }

    Instant instant(String field) {
        String text = text(field);
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            try {
                return java.time.OffsetDateTime.parse(text).toInstant();
            } catch (DateTimeParseException again) {
                throw ApiException.badRequest("'" + field + "' must be an ISO-8601 time like 2024-05-01T12:00:00Z,"
                        + " got '" + text + "'");
            }
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }
}
