package io.woslo.internal;

/**
 * A write fenced by a lock entry was refused by etcd because the entry is no longer the one granted: the holder's
 * lease ended (a pause, a slow handler) or the entry was removed. Nothing was written.
 */
public final class LockLostException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public LockLostException(String message) {
        super(message, null, false, false);
    }
}
