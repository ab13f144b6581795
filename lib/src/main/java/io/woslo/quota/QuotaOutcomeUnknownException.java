package io.woslo.quota;

/**
 * etcd did not answer a write in time, and the write may still land: jetcd holds calls made while etcd is
 * unreachable and sends them when it is back, and a reply can be lost after etcd applied the request. Whether the
 * change happened is unknown. Do not blindly retry a release ({@code cleanUsed}, {@code rollback}): it could be given
 * back twice. Over HTTP it is 504 {@code outcome_unknown}; retry there with the same {@code Idempotency-Key}.
 */
public class QuotaOutcomeUnknownException extends QuotaUnavailableException {
    private static final long serialVersionUID = 1L;

    public QuotaOutcomeUnknownException(String message, Throwable cause) {
        super(message, cause);
    }
}
