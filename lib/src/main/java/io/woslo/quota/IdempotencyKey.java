package io.woslo.quota;

/**
 * A client's key for one change, so that sending the change again (after a timeout, a lost answer, a crashed
 * caller) applies it at most once: the first outcome is stored in etcd at {@code <ns>/idempotency/<key>} in the
 * same transaction as the change, for the idempotency window, and a later call with the same key and the same
 * request answers that outcome again without applying anything. The same key with another request is refused
 * ({@link IdempotencyKeyReusedException}). This is what the coordinator's {@code Idempotency-Key} header carries.
 *
 * @param key the client's key: 1 to 255 printable ASCII characters
 * @param fingerprint what identifies the request the key was first used for (e.g. a hash of method, path and body);
 *                    compared, never interpreted
 */
public record IdempotencyKey(String key, String fingerprint) {
    /** Longest accepted key, in characters. */
    public static final int MAX_LENGTH = 255;

    public IdempotencyKey {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("idempotency key must not be " + (key == null ? "null" : "empty"));
        }
        if (key.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("idempotency key must be at most " + MAX_LENGTH + " characters, got "
                    + key.length());
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                throw new IllegalArgumentException("idempotency key must be printable ASCII without spaces, got '"
                        + key.replaceAll("[^\\x21-\\x7e]", "?") + "' (character " + i + ")");
            }
        }
        if (fingerprint == null || fingerprint.isEmpty()) {
            throw new IllegalArgumentException("the fingerprint of idempotency key '" + key + "' must not be empty");
        }
    }
}
