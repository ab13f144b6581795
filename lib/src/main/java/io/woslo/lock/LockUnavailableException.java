package io.woslo.lock;

/**
 * etcd could not be reached (or had no leader) within the operation timeout. No lock is held when this is thrown;
 * a queue entry that etcd may have stored ends with its lease at the latest.
 */
public class LockUnavailableException extends LockException {
    private static final long serialVersionUID = 1L;

    public LockUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
