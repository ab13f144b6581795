package io.woslo.internal;

/**
 * etcd did not answer a write in time and the write may still land (jetcd sends calls it held while etcd was
 * unreachable once it is back; a reply can be lost after etcd applied the request). The public packages turn it
 * into their own "outcome unknown" exception. For a fenced counter write it carries what is needed to settle it
 * later ({@link CounterStore#settle}).
 */
public final class OutcomeUnknownException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient CounterStore.LostWrite lostWrite;

    public OutcomeUnknownException(String message, Throwable cause) {
        this(message, cause, null);
    }

    public OutcomeUnknownException(String message, Throwable cause, CounterStore.LostWrite lostWrite) {
        super(message, cause);
        this.lostWrite = lostWrite;
    }

    /** The fenced write whose outcome is unknown, or null when it is not one. */
    public CounterStore.LostWrite lostWrite() {
        return lostWrite;
    }
}
