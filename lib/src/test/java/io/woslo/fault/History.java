package io.woslo.fault;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Every operation of a workload, as Jepsen records it: invoked, then ok, fail (surely not applied), unknown (may
 * or may not have been applied) or interrupted, with {@code System.nanoTime()} at both ends and the client that
 * made it. Quota operations carry their signed effect on each counter; lock holds carry the fencing token and the
 * hold interval; the source of truth's reads and raw samples of the counters are recorded too. Thread-safe: every
 * change happens under the history's monitor, so "ended before" in the history means "ended before" in real time.
 */
final class History {
    /** What an operation was. */
    enum Type {
        /** prepareOccupying: + amounts; the account's read lock held from before its write until CLOSE. */
        RESERVE(true),
        /** reservation.rollback(): - amounts, under the reservation's read lock. */
        RESERVATION_ROLLBACK(false),
        /** cleanUsed: - amounts. */
        CLEAN(false),
        /** rollback(account, amounts, errorTime): - amounts unless a refresh after errorTime saw the truth. */
        ROLLBACK(false),
        /** prepareStoredAsync: + amounts; the read lock lives on the record's lease until finished. */
        STORED_PREPARE(true),
        /** finishStoredAsync: no change to counters. */
        STORED_FINISH(false),
        /** rollbackStoredAsync: - amounts. */
        STORED_ROLLBACK(false),
        /** refresh(account, force, ...): counters := the handlers' figures, under the account's write lock. */
        REFRESH(false),
        /** A used figure the source of truth read (value) for one counter. */
        HANDLER_READ(false),
        /** A raw read of an account's counters straight from etcd (values). */
        SAMPLE(false),
        /** The counters read from etcd at the end (values). */
        FINAL(false),
        /** A lock hold: invoke = lock() called, end = lock() returned, released = unlock() called. */
        LOCK(false),
        /** Reservation closed (its read lock released). */
        CLOSE(false);

        /** Whether an OK operation of this type keeps the account's read lock past its end. */
        final boolean keepsReadLock;

        Type(boolean keepsReadLock) {
            this.keepsReadLock = keepsReadLock;
        }
    }

    /** How an operation ended. */
    enum Outcome { PENDING, OK, FAIL, UNKNOWN, INTERRUPTED }

    /** One operation. Fields change only under the history's monitor. */
    static final class Op {
        final long id;
        final String process;
        final Type type;
        /** The account (quota) or the lock key (locks). */
        final String subject;
        /** Signed change of each resource's counter if applied; for reads, the values read. */
        final Map<String, Long> deltas;
        final long invoke;
        long end = Long.MAX_VALUE;
        Outcome outcome = Outcome.PENDING;
        String detail = "";
        // quota extras
        long errorTime = Long.MIN_VALUE; // ROLLBACK: nanoTime of the failure
        int attempts = 1; // calls sent with one idempotency key until one answered: each is bounded
        Set<String> refreshed = Set.of(); // REFRESH: resources it reports refreshed
        String exceededResource; // RESERVE failing with QuotaExceededException
        long exceededUsed;
        long exceededRequested;
        long exceededQuota;
        // lock extras
        boolean write;
        long token;
        long released = Long.MAX_VALUE; // nanoTime at which unlock() was called
        long leaseNanos;

        Op(long id, String process, Type type, String subject, Map<String, Long> deltas, long invoke) {
            this.id = id;
            this.process = process;
            this.type = type;
            this.subject = subject;
            this.deltas = Map.copyOf(deltas);
            this.invoke = invoke;
        }

        boolean ended() {
            return outcome != Outcome.PENDING;
        }

        @Override
        public String toString() {
            StringBuilder out = new StringBuilder();
            out.append('#').append(id).append(' ').append(process).append(' ').append(type).append(' ')
                    .append(subject);
            if (!deltas.isEmpty()) {
                out.append(' ').append(new TreeMap<>(deltas));
            }
            out.append(" [").append(ms(invoke)).append(" .. ").append(end == Long.MAX_VALUE ? "never" : ms(end))
                    .append(" ms] ").append(outcome);
            if (type == Type.LOCK && outcome == Outcome.OK) {
                out.append(write ? " write" : " read").append(" token ").append(token).append(" released at ")
                        .append(released == Long.MAX_VALUE ? "never" : ms(released) + " ms");
            }
            if (type == Type.REFRESH) {
                out.append(" refreshed ").append(new TreeSet<>(refreshed));
            }
            if (type == Type.ROLLBACK) {
                out.append(" errorTime ").append(ms(errorTime)).append(" ms");
            }
            if (exceededResource != null) {
                out.append(" exceeded ").append(exceededResource).append(" used ").append(exceededUsed)
                        .append(" requested ").append(exceededRequested).append(" quota ").append(exceededQuota);
            }
            if (!detail.isEmpty()) {
                out.append(" (").append(detail).append(')');
            }
            return out.toString();
        }
    }

    /** Times in reports are milliseconds since this origin. */
    private static volatile long origin = System.nanoTime();

    private final List<Op> ops = new ArrayList<>();

    History() {
        origin = System.nanoTime();
    }

    static String ms(long nanos) {
        return String.format("%.1f", (nanos - origin) / 1e6);
    }

    /** Records the start of an operation, now. */
    synchronized Op invoke(String process, Type type, String subject, Map<String, Long> deltas) {
        return add(process, type, subject, deltas, System.nanoTime());
    }

    /** Records an operation with given times (hand-made histories in tests, and reads). */
    synchronized Op add(String process, Type type, String subject, Map<String, Long> deltas, long invoke) {
        Op op = new Op(ops.size() + 1, process, type, subject, deltas, invoke);
        ops.add(op);
        return op;
    }

    /** Ends an operation now. */
    synchronized void end(Op op, Outcome outcome, String detail) {
        end(op, outcome, detail, System.nanoTime());
    }

    synchronized void end(Op op, Outcome outcome, String detail, long at) {
        if (op.ended()) {
            throw new IllegalStateException("operation ended twice: " + op);
        }
        op.end = at;
        op.outcome = outcome;
        op.detail = detail == null ? "" : detail;
    }

    /** A lock hold began: lock() returned with this token. */
    synchronized void granted(Op op, boolean write, long token, long leaseNanos) {
        granted(op, write, token, leaseNanos, System.nanoTime());
    }

    synchronized void granted(Op op, boolean write, long token, long leaseNanos, long at) {
        op.write = write;
        op.token = token;
        op.leaseNanos = leaseNanos;
        end(op, Outcome.OK, "", at);
    }

    /** unlock() is about to be called: the hold ends here, conservatively. */
    synchronized void releasing(Op op) {
        op.released = System.nanoTime();
    }

    synchronized void releasing(Op op, long at) {
        op.released = at;
    }

    /** A refresh returned, reporting which resources it refreshed. */
    synchronized void refreshed(Op op, Set<String> resources, String detail) {
        op.refreshed = Set.copyOf(resources);
        end(op, Outcome.OK, detail);
    }

    /** A reservation failed with QuotaExceededException carrying these figures. */
    synchronized void exceeded(Op op, String resource, long used, long requested, long quota) {
        exceeded(op, resource, used, requested, quota, System.nanoTime());
    }

    synchronized void exceeded(Op op, String resource, long used, long requested, long quota, long at) {
        op.exceededResource = resource;
        op.exceededUsed = used;
        op.exceededRequested = requested;
        op.exceededQuota = quota;
        end(op, Outcome.FAIL, "QuotaExceededException", at);
    }

    /** A read (handler, sample, final) that happened at one moment. */
    synchronized Op read(String process, Type type, String account, Map<String, Long> values, long at, long end) {
        Op op = add(process, type, account, values, at);
        end(op, Outcome.OK, "", end);
        return op;
    }

    /** A copy of every operation so far, in invocation-record order. */
    synchronized List<Op> ops() {
        return new ArrayList<>(ops);
    }

    /** Operations per type and outcome, for the report. */
    synchronized Map<String, Long> summary() {
        Map<String, Long> out = new TreeMap<>();
        for (Op op : ops) {
            if (op.type != Type.HANDLER_READ && op.type != Type.SAMPLE) {
                out.merge(op.type + " " + op.outcome, 1L, Long::sum);
            } else {
                out.merge(op.type.toString(), 1L, Long::sum);
            }
        }
        return out;
    }

    static Map<String, Long> amounts(Object... pairs) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            out.put((String) pairs[i], ((Number) pairs[i + 1]).longValue());
        }
        return out;
    }
}
