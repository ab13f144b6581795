package io.woslo.lock;

/** How a lock is held. */
public enum LockMode {
    /** Nobody holds the lock. */
    NONE,
    /** One or more readers hold the lock. */
    READ,
    /** One writer holds the lock. */
    WRITE
}
