package io.woslo.quota;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One caller's change in flight, shared between the work and the caller's deadline, so that "not applied" and
 * "outcome unknown" are told apart: the work asks {@link #beginWrite()} before it sends its first write, and the
 * deadline asks {@link #abandon()}. Whichever comes first decides: a call abandoned before writing never writes (its
 * caller is told "not applied"); one abandoned after it began writing is "outcome unknown".
 */
final class Call {
    private static final int RUNNING = 0;
    private static final int WRITING = 1;
    private static final int ABANDONED = 2;

    private final AtomicInteger state = new AtomicInteger(RUNNING);

    /** A call that is never abandoned: for work done on WOSLO's own behalf. */
    static Call unbounded() {
        return new Call();
    }

    /** Whether the work may send its write now: false once the caller gave up before it did. */
    boolean beginWrite() {
        return state.compareAndSet(RUNNING, WRITING) || state.get() == WRITING;
    }

    /** The caller gives up; true when no write had begun (and none will). */
    boolean abandon() {
        return state.compareAndSet(RUNNING, ABANDONED);
    }

    /** The failure of work whose caller gave up before it wrote. */
    static QuotaUnavailableException abandonedBeforeWriting(String what) {
        return new QuotaUnavailableException(what + " was abandoned by its caller before it wrote anything", null);
    }
}
