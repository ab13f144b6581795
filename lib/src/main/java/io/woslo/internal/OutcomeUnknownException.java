package io.woslo.internal;

/**
 * etcd did not answer a write in time and the write may still land (jetcd sends calls it held while etcd was
 * unreachable once it is back; a reply can be lost after etcd applied the request). The public packages turn it
 * into their own "outcome unknown" exception.
 */
public final class OutcomeUnknownException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public OutcomeUnknownException(String message, Throwable cause) {
        super(message, cause);
    }
}
