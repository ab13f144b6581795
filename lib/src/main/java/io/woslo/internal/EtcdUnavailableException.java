package io.woslo.internal;

/**
 * etcd did not answer within the operation timeout, or answered that it cannot serve (no leader, connection
 * refused). The public packages turn it into their own "unavailable" exception.
 */
public final class EtcdUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public EtcdUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
