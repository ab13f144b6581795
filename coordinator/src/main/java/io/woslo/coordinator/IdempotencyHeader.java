package io.woslo.coordinator;

import io.vertx.ext.web.RoutingContext;
import io.woslo.quota.IdempotencyKey;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code Idempotency-Key} header of a POST that changes counters. The key's fingerprint is a SHA-256 of the
 * request's meaning: its path and its validated arguments (amounts sorted by resource), so the same request sent
 * again matches whatever its JSON spacing or field order, and the key sent with another request (another path,
 * another account, other amounts) is told apart: 422.
 */
final class IdempotencyHeader {
    static final String NAME = "Idempotency-Key";

    private IdempotencyHeader() {
    }

    /**
     * The request's key, or null when it has none.
     *
     * @param arguments the validated arguments that make the request what it is, in a fixed order
     * @throws IllegalArgumentException naming a malformed key (400)
     */
    static IdempotencyKey of(RoutingContext ctx, Object... arguments) {
        String key = ctx.request().getHeader(NAME);
        if (key == null) {
            return null;
        }
        StringBuilder meaning = new StringBuilder(ctx.request().method().name()).append(' ')
                .append(ctx.request().path());
        for (Object argument : arguments) {
            meaning.append('\n').append(argument instanceof Map<?, ?> map ? new TreeMap<>(map) : argument);
        }
        return new IdempotencyKey(key, sha256(meaning.toString()));
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
