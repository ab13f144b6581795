package io.woslo.quota;

/**
 * An {@link IdempotencyKey} came with a request other than the one it was first used for, within the idempotency
 * window. Nothing was applied. Over HTTP it is 422 {@code idempotency_key_reused}.
 */
public class IdempotencyKeyReusedException extends QuotaException {
    private static final long serialVersionUID = 1L;

    private final String key;

    public IdempotencyKeyReusedException(String key) {
        super("idempotency key '" + key + "' was first used for another request; use a new key for a new request",
                null);
        this.key = key;
    }

    /** The reused key. */
    public String key() {
        return key;
    }
}
