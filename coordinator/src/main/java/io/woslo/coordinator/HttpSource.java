package io.woslo.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcd.jetcd.Client;
import io.woslo.quota.UsedQuotaHandler;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Figures from another service: GET {@code usedUrl} / {@code quotaUrl} with {@code {account}} replaced by the
 * URL-encoded account; the answer is a bare number or JSON {@code {"used":N}} / {@code {"quota":N}}. Each call is
 * bounded by {@code timeout} (default 5 seconds).
 */
record HttpSource(String usedUrl, String quotaUrl, Duration timeout) implements ResourceSource {
    private static final ObjectMapper JSON = new ObjectMapper();

    static HttpSource parse(ConfigNode node) {
        HttpSource source = new HttpSource(node.requiredText("usedUrl"), node.requiredText("quotaUrl"),
                node.duration("timeout", DEFAULT_TIMEOUT));
        checkUrl(node.path() + ".usedUrl", source.usedUrl);
        checkUrl(node.path() + ".quotaUrl", source.quotaUrl);
        return source;
    }

    private static void checkUrl(String setting, String template) {
        try {
            URI uri = URI.create(template.replace("{account}", "x"));
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
                throw new IllegalArgumentException("not http");
            }
        } catch (IllegalArgumentException e) {
            throw new ConfigException(setting + ": '" + template + "' is not an http(s) URL");
        }
    }

    @Override
    public UsedQuotaHandler handler(String resource, Client client, String namespace) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(timeout).build();
        return new UsedQuotaHandler() {
            @Override
            public long queryUsed(String account) throws Exception {
                return fetch(http, usedUrl, account, "used");
            }

            @Override
            public long queryQuota(String account) throws Exception {
                return fetch(http, quotaUrl, account, "quota");
            }
        };
    }

    private long fetch(HttpClient http, String template, String account, String field) throws Exception {
        URI uri = URI.create(template.replace("{account}", URLEncoder.encode(account, StandardCharsets.UTF_8)));
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("GET " + uri + " answered " + response.statusCode());
        }
        String body = response.body().trim();
        JsonNode parsed;
        try {
            parsed = JSON.readTree(body);
        } catch (IOException e) {
            throw new IOException("GET " + uri + " answered neither a number nor JSON: " + abbreviate(body));
        }
        JsonNode number = parsed != null && parsed.isObject() ? parsed.get(field) : parsed;
        if (number == null || !number.isIntegralNumber() || !number.canConvertToLong()) {
            throw new IOException("GET " + uri + " answered no whole number" + " (or {\"" + field + "\":N}): "
                    + abbreviate(body));
        }
        return number.asLong();
    }

    private static String abbreviate(String body) {
        return body.length() <= 100 ? body : body.substring(0, 100) + "...";
    }
}
