package io.woslo.lock;

/**
 * etcd could not be reached (or had no leader) within the operation timeout, or the caller's queue entry ended while
 * it waited (its lease expired or was revoked, or the entry was removed; the message says which). No lock is held
 * when this is thrown; a queue entry that etcd may have stored ends with its lease at the latest. A wait that timed
 * out while its entry could not be removed is reported this way too, never as a plain time-out.
 */
public class LockUnavailableException extends LockException {
    private static final long serialVersionUID = 1L;

    public LockUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
