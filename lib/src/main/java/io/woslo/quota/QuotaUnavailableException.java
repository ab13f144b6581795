package io.woslo.quota;

/**
 * etcd, or a resource's handler, could not be reached within the configured bound (10 seconds by default), or the
 * account stayed too contended. Nothing was changed and no lock is held.
 */
public class QuotaUnavailableException extends QuotaException {
    private static final long serialVersionUID = 1L;

    public QuotaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
