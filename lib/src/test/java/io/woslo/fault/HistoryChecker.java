package io.woslo.fault;

import io.woslo.fault.History.Op;
import io.woslo.fault.History.Outcome;
import io.woslo.fault.History.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Checks a {@link History} (and what was left in etcd at the end) against WOSLO's safety promises:
 *
 * <ul>
 *   <li><b>lock-exclusion</b>: no write hold overlaps another hold of the same key. A hold counts from the moment
 *       {@code lock()} returned to the moment {@code unlock()} was called; holds that could have outlived their
 *       lease (measured from the {@code lock()} call) are left out, since a lease-based lock cannot promise them.
 *   <li><b>fencing-order</b>: a write hold granted after another write hold was released has a larger token.
 *   <li><b>over-quota</b>: no counter read from etcd (samples during the run, the final read) is above quota.
 *   <li><b>counter-explained</b>: every counter read is explained by the ledger: the last refresh's figure (or the
 *       start) plus the operations after it; unknown outcomes, and operations racing a refresh, count as "maybe".
 *   <li><b>all-or-nothing</b>: the final counters of an account are explained with each multi-resource operation
 *       either applied on all its counters or on none.
 *   <li><b>exceeded-consistent</b>: a {@code QuotaExceededException} names a used figure the counter could have
 *       had during the call, and the request really did not fit it.
 *   <li><b>bounded-call</b>: every call returned, within its bound.
 *   <li><b>left-behind</b>: nothing of the library remains in etcd once everything was closed and leases passed.
 * </ul>
 *
 * <p>The counter reasoning relies on the account locks as the contract states them: a refresh reads its handler and
 * writes under the account's write lock, and a reservation holds the read lock from before its write until it is
 * closed; so a reservation that returned after a refresh read its figures was written after that refresh. A write
 * whose outcome was unknown may land later, but never past a refresh that took the write lock after the call gave
 * up (fencing), and an interrupted call must give back whatever of it lands.
 */
final class HistoryChecker {
    /** Past this many subset sums the exact (joint) check gives up and says so; the interval check still runs. */
    private static final int MAX_STATES = 200_000;

    private final long quota;
    private final Duration operationTimeout;
    private final Duration slack;
    private final Duration leaseMargin;
    private final Map<String, Long> start = new HashMap<>();

    /**
     * @param quota every counter's quota
     * @param operationTimeout the quota manager's and lock service's operation timeout
     * @param slack what a call may take beyond its bound (scheduling on a loaded machine)
     * @param leaseMargin a hold ending later than lease minus this after its lock() call is not checked
     */
    HistoryChecker(long quota, Duration operationTimeout, Duration slack, Duration leaseMargin) {
        this.quota = quota;
        this.operationTimeout = operationTimeout;
        this.slack = slack;
        this.leaseMargin = leaseMargin;
    }

    /** The value of a counter before the history began (used until a refresh is seen). */
    HistoryChecker start(String account, String resource, long used) {
        start.put(counter(account, resource), used);
        return this;
    }

    static String counter(String account, String resource) {
        return account + "/" + resource;
    }

    /** One broken promise, with the operations that show it. */
    record Violation(String invariant, String message, List<String> excerpt) {
        @Override
        public String toString() {
            StringBuilder out = new StringBuilder(invariant).append(": ").append(message);
            excerpt.forEach(line -> out.append("\n      ").append(line));
            return out.toString();
        }
    }

    /** What the checker found. */
    record Result(List<Violation> violations, Map<String, String> checks, List<String> notes) {
        boolean ok() {
            return violations.isEmpty();
        }

        List<String> invariantsBroken() {
            return violations.stream().map(Violation::invariant).distinct().sorted().toList();
        }
    }

    /** Checks the history; {@code leftovers} are the library's keys found in etcd at the very end. */
    Result check(List<Op> ops, List<String> leftovers) {
        List<Violation> out = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Map<String, String> checks = new LinkedHashMap<>();
        Counters counters = new Counters(ops);
        run(checks, out, "lock-exclusion", () -> lockExclusion(ops, out, notes));
        run(checks, out, "fencing-order", () -> fencingOrder(ops, out));
        run(checks, out, "over-quota", () -> overQuota(ops, out));
        run(checks, out, "counter-explained", () -> counters.explainReads(out));
        run(checks, out, "all-or-nothing", () -> counters.jointFinal(out, notes));
        run(checks, out, "exceeded-consistent", () -> counters.exceeded(out));
        run(checks, out, "bounded-call", () -> bounded(ops, out));
        run(checks, out, "left-behind", () -> {
            if (!leftovers.isEmpty()) {
                out.add(new Violation("left-behind", leftovers.size() + " key(s) left in etcd after everything was"
                        + " closed and every lease ended", leftovers.stream().limit(10).toList()));
            }
        });
        return new Result(out, checks, notes);
    }

    private static void run(Map<String, String> checks, List<Violation> out, String name, Runnable check) {
        check.run();
        checks.put(name, "PASS");
        for (Violation v : out) { // a step may find a broken invariant of another name (the exact ledger check)
            long found = out.stream().filter(x -> x.invariant().equals(v.invariant())).count();
            checks.put(v.invariant(), "FAIL (" + found + ")");
        }
    }

    // ---------------------------------------------------------------------------------------------------- locks

    private List<Op> holds(List<Op> ops) {
        return ops.stream().filter(op -> op.type == Type.LOCK && op.outcome == Outcome.OK)
                .sorted(Comparator.comparingLong(op -> op.end)).toList();
    }

    private void lockExclusion(List<Op> ops, List<Violation> out, List<String> notes) {
        Map<String, List<Op>> byKey = new TreeMap<>();
        int unchecked = 0;
        for (Op hold : holds(ops)) {
            boolean withinLease = hold.released != Long.MAX_VALUE
                    && hold.released - hold.invoke < hold.leaseNanos - leaseMargin.toNanos();
            if (withinLease) {
                byKey.computeIfAbsent(hold.subject, k -> new ArrayList<>()).add(hold);
            } else {
                unchecked++;
            }
        }
        if (unchecked > 0) {
            notes.add(unchecked + " lock hold(s) may have outlived their lease and were not checked for exclusion");
        }
        byKey.forEach((key, holds) -> {
            for (int i = 0; i < holds.size(); i++) {
                Op a = holds.get(i);
                for (int j = i + 1; j < holds.size() && holds.get(j).end < a.released; j++) {
                    Op b = holds.get(j);
                    if ((a.write || b.write) && b.end < a.released && a.end < b.released) {
                        out.add(new Violation("lock-exclusion", "two holds of lock '" + key + "' with a writer"
                                + " overlap for " + ms(Math.min(a.released, b.released) - b.end) + " ms",
                                List.of(a.toString(), b.toString())));
                    }
                }
            }
        });
    }

    private void fencingOrder(List<Op> ops, List<Violation> out) {
        Map<String, List<Op>> writes = new TreeMap<>();
        holds(ops).stream().filter(op -> op.write)
                .forEach(op -> writes.computeIfAbsent(op.subject, k -> new ArrayList<>()).add(op));
        writes.forEach((key, holds) -> {
            for (int j = 0; j < holds.size(); j++) {
                Op b = holds.get(j);
                for (int i = 0; i < j; i++) {
                    Op a = holds.get(i);
                    if (a.released < b.end && b.token <= a.token) {
                        out.add(new Violation("fencing-order", "write hold of '" + key + "' granted after another"
                                + " was released has token " + b.token + " <= " + a.token,
                                List.of(a.toString(), b.toString())));
                    }
                }
            }
        });
    }

    // ---------------------------------------------------------------------------------------------------- quota

    private void overQuota(List<Op> ops, List<Violation> out) {
        for (Op op : ops) {
            if (op.type == Type.SAMPLE || op.type == Type.FINAL) {
                op.deltas.forEach((resource, value) -> {
                    if (value > quota) {
                        out.add(new Violation("over-quota", "counter " + counter(op.subject, resource) + " read "
                                + value + " > quota " + quota, List.of(op.toString())));
                    }
                });
            }
        }
    }

    /** The pause between attempts of a call sent again with its idempotency key (see {@code RandomizedRun}). */
    static final Duration RETRY_PAUSE = Duration.ofMillis(300);

    private void bounded(List<Op> ops, List<Violation> out) {
        for (Op op : ops) {
            if (op.type == Type.HANDLER_READ || op.type == Type.SAMPLE || op.type == Type.FINAL) {
                continue;
            }
            if (!op.ended()) {
                out.add(new Violation("bounded-call", "call never returned", List.of(op.toString())));
                continue;
            }
            Duration bound = operationTimeout.plus(slack);
            if (op.type == Type.LOCK) {
                bound = bound.plus(Duration.ofNanos(op.leaseNanos)); // lock() waits up to its lease for holders
            }
            // An operation sent again with its idempotency key: each attempt is bounded, with a pause between.
            bound = bound.multipliedBy(op.attempts).plus(RETRY_PAUSE.multipliedBy(op.attempts - 1L));
            if (op.end - op.invoke > bound.toNanos()) {
                out.add(new Violation("bounded-call", "call took " + ms(op.end - op.invoke) + " ms > bound "
                        + bound.toMillis() + " ms", List.of(op.toString())));
            }
        }
    }

    private static String ms(long nanos) {
        return String.format("%.0f", nanos / 1e6);
    }

    /** A figure a counter was set to by a refresh (or the start), and when that write could have happened. */
    private record Anchor(long readAt, long value, long writeBy, boolean definite, Op refresh) {
        String describe() {
            return refresh == null ? "start value " + value
                    : "refresh #" + refresh.id + " read " + value + " at " + History.ms(readAt) + " ms";
        }
    }

    /** Interval reasoning over the counters of the history. */
    private final class Counters {
        private final Map<String, List<Op>> changes = new HashMap<>(); // account -> ops with deltas, by invoke
        private final Map<String, List<Op>> refreshes = new HashMap<>(); // account -> REFRESH ops
        private final Map<String, List<Anchor>> anchors = new HashMap<>(); // counter -> anchors
        private final List<Op> reads = new ArrayList<>();
        private final List<Op> exceeded = new ArrayList<>();

        Counters(List<Op> ops) {
            List<Op> handlerReads = new ArrayList<>();
            for (Op op : ops) {
                switch (op.type) {
                    case RESERVE, RESERVATION_ROLLBACK, CLEAN, ROLLBACK, STORED_PREPARE, STORED_ROLLBACK -> {
                        changes.computeIfAbsent(op.subject, k -> new ArrayList<>()).add(op);
                        if (op.exceededResource != null) {
                            exceeded.add(op);
                        }
                    }
                    case REFRESH -> refreshes.computeIfAbsent(op.subject, k -> new ArrayList<>()).add(op);
                    case HANDLER_READ -> handlerReads.add(op);
                    case SAMPLE, FINAL -> reads.add(op);
                    default -> {
                    }
                }
            }
            changes.values().forEach(list -> list.sort(Comparator.comparingLong(op -> op.invoke)));
            for (Op read : handlerReads) {
                read.deltas.forEach((resource, value) -> anchorsOf(read, resource, value)
                        .forEach(a -> anchors.computeIfAbsent(counter(read.subject, resource), k -> new ArrayList<>())
                                .add(a)));
            }
        }

        /** The anchors a handler read gives: one per refresh it may belong to. */
        private List<Anchor> anchorsOf(Op read, String resource, long value) {
            List<Anchor> out = new ArrayList<>();
            boolean enclosed = false;
            for (Op r : refreshes.getOrDefault(read.subject, List.of())) {
                if (r.invoke <= read.invoke && read.invoke <= r.end) {
                    enclosed = true;
                    if (r.outcome == Outcome.OK && r.refreshed.contains(resource)) {
                        out.add(new Anchor(read.invoke, value, r.end, true, r));
                    } else if (r.outcome != Outcome.OK && r.outcome != Outcome.FAIL) {
                        out.add(new Anchor(read.invoke, value, Long.MAX_VALUE, false, r));
                    }
                }
            }
            if (!enclosed) { // a refresh the library made by itself (a missing or stale counter): it may have written
                out.add(new Anchor(read.invoke, value, Long.MAX_VALUE, false, null));
            }
            return out;
        }

        /** The anchors that may have set the counter last before a read in [a, b]. */
        private List<Anchor> candidates(String counter, long a, long b) {
            List<Anchor> all = anchors.getOrDefault(counter, List.of());
            long lastDefinite = Long.MIN_VALUE;
            for (Anchor an : all) {
                if (an.definite && an.writeBy < a) {
                    lastDefinite = Math.max(lastDefinite, an.readAt);
                }
            }
            List<Anchor> out = new ArrayList<>();
            if (lastDefinite == Long.MIN_VALUE) {
                Long s = start.get(counter);
                if (s != null) {
                    out.add(new Anchor(Long.MIN_VALUE, s, Long.MIN_VALUE, true, null));
                }
            }
            for (Anchor an : all) {
                if (an.readAt <= b && an.writeBy >= lastDefinite) {
                    out.add(an);
                }
            }
            return out;
        }

        /** An operation's part in a counter's value as seen from one anchor at a read in [a, b]. */
        private enum Part { NONE, EXACT, MAYBE }

        private Part part(Op op, String account, Anchor anchor, long a, long b, boolean fin) {
            if (op.outcome == Outcome.FAIL && !givenBackIfLanded(op)) {
                return Part.NONE;
            }
            if ((op.outcome == Outcome.INTERRUPTED || op.outcome == Outcome.FAIL) && fin) {
                return Part.NONE; // whatever of it landed must have been given back by the end
            }
            if (op.invoke > b) {
                return Part.NONE; // not yet sent at the read
            }
            boolean ok = op.outcome == Outcome.OK;
            if (!ok) {
                // The caller gave up, the library may not have: its write may land (and, interrupted, be given
                // back) at any time after the call began, after a refresh included.
                return Part.MAYBE;
            }
            if (op.end < anchor.readAt) {
                return Part.NONE; // written before the refresh took the write lock: overwritten
            }
            long writtenBy = ok ? op.end : Long.MAX_VALUE;
            if (ok && op.type == Type.ROLLBACK && refreshedAfter(account, op)) {
                return Part.MAYBE; // skipped if a refresh after errorTime saw the truth
            }
            if (ok && op.type.keepsReadLock && anchor.refresh != null) {
                return op.end < a ? Part.EXACT : Part.MAYBE; // held the read lock past the refresh's read
            }
            if (op.invoke > anchor.writeBy && writtenBy < a) {
                return ok ? Part.EXACT : Part.MAYBE;
            }
            return Part.MAYBE;
        }

        /**
         * A reservation that failed as unavailable: the library answered "not applied" because whatever of it lands is
         * given back. Its transaction may have landed before the answer (a reply lost, a connection reset after etcd
         * applied it) and be given back a moment later, so a read during the run may see it, like an interrupted
         * call's; the final read must not.
         */
        private static boolean givenBackIfLanded(Op op) {
            return (op.type == Type.RESERVE || op.type == Type.STORED_PREPARE)
                    && op.detail.startsWith("QuotaUnavailableException");
        }

        private boolean refreshedAfter(String account, Op rollback) {
            for (Op r : refreshes.getOrDefault(account, List.of())) {
                if (r.outcome != Outcome.FAIL && r.end > rollback.errorTime && r.invoke < rollback.end) {
                    return true;
                }
            }
            return false;
        }

        /** [lo, hi] of the counter's possible values at a read in [a, b], over every candidate anchor. */
        private long[] bounds(String account, String resource, long a, long b, boolean fin) {
            long lo = Long.MAX_VALUE;
            long hi = Long.MIN_VALUE;
            for (Anchor anchor : candidates(counter(account, resource), a, b)) {
                long exact = anchor.value;
                long down = 0;
                long up = 0;
                for (Op op : changes.getOrDefault(account, List.of())) {
                    Long d = op.deltas.get(resource);
                    if (d == null || d == 0) {
                        continue;
                    }
                    if (op.invoke > b) {
                        break;
                    }
                    switch (part(op, account, anchor, a, b, fin)) {
                        case EXACT -> exact += d;
                        case MAYBE -> {
                            down += Math.min(0, d);
                            up += Math.max(0, d);
                        }
                        default -> {
                        }
                    }
                }
                lo = Math.min(lo, exact + down);
                hi = Math.max(hi, exact + up);
            }
            return lo == Long.MAX_VALUE ? null : new long[] {lo, hi};
        }

        void explainReads(List<Violation> out) {
            for (Op read : reads) {
                boolean fin = read.type == Type.FINAL;
                long a = fin ? Long.MAX_VALUE : read.invoke;
                long b = fin ? Long.MAX_VALUE : read.end;
                read.deltas.forEach((resource, value) -> {
                    long[] range = bounds(read.subject, resource, a, b, fin);
                    if (range == null) {
                        out.add(new Violation("counter-explained", "no start value or refresh known for "
                                + counter(read.subject, resource), List.of(read.toString())));
                    } else if (value < range[0] || value > range[1]) {
                        out.add(new Violation("counter-explained", counter(read.subject, resource) + " read "
                                + value + " but the history allows only [" + range[0] + ", " + range[1] + "]"
                                + (fin ? " at the end" : " at that moment"), excerpt(read, resource, a, b)));
                    }
                });
            }
        }

        void exceeded(List<Violation> out) {
            for (Op op : exceeded) {
                String resource = op.exceededResource;
                if (op.exceededRequested <= op.exceededQuota - op.exceededUsed || op.exceededQuota != quota) {
                    out.add(new Violation("exceeded-consistent", "refused although " + op.exceededRequested
                            + " fits into quota " + op.exceededQuota + " - used " + op.exceededUsed
                            + " (configured quota " + quota + ")", List.of(op.toString())));
                    continue;
                }
                long[] range = bounds(op.subject, resource, op.invoke, op.end, false);
                if (range != null && (op.exceededUsed < range[0] || op.exceededUsed > range[1])) {
                    out.add(new Violation("exceeded-consistent", "refused with used " + op.exceededUsed + " of "
                            + counter(op.subject, resource) + ", but during the call the history allows only ["
                            + range[0] + ", " + range[1] + "]", excerpt(op, resource, op.invoke, op.end)));
                }
            }
        }

        /**
         * The exact form of the final check: some choice of the "maybe" operations, each applied on all its
         * counters or on none, must give every final counter of the account.
         */
        void jointFinal(List<Violation> out, List<String> notes) {
            for (Op fin : reads) {
                if (fin.type != Type.FINAL) {
                    continue;
                }
                List<String> resources = new ArrayList<>(new TreeSet<>(fin.deltas.keySet()));
                List<List<Anchor>> choices = new ArrayList<>();
                for (String r : resources) {
                    choices.add(candidates(counter(fin.subject, r), Long.MAX_VALUE, Long.MAX_VALUE));
                }
                Boolean joint = false;
                Boolean independent = false;
                long product = choices.stream().mapToLong(List::size).reduce(1, (x, y) -> x * y);
                if (product == 0) {
                    continue; // reported by counter-explained: no start value
                }
                if (product > 16) {
                    notes.add("all-or-nothing of account " + fin.subject + " not decided (" + product + " anchors)");
                    continue;
                }
                for (List<Anchor> combo : combos(choices, 16)) {
                    Boolean[] found = reachable(fin, resources, combo);
                    if (found == null) {
                        joint = null;
                        break;
                    }
                    joint |= found[0];
                    independent |= found[1];
                }
                if (joint == null) {
                    notes.add("all-or-nothing of account " + fin.subject + " not decided (too many maybe outcomes)");
                } else if (!joint) {
                    String what = independent
                            ? "the final counters need a multi-resource operation applied on some counters only"
                            : "no choice of the maybe outcomes gives the final counters exactly";
                    out.add(new Violation(independent ? "all-or-nothing" : "counter-explained",
                            "account " + fin.subject + " final " + new TreeMap<>(fin.deltas) + ": " + what,
                            excerpt(fin, resources.get(0), Long.MAX_VALUE, Long.MAX_VALUE)));
                }
            }
        }

        /** {joint reachable, reachable with each counter chosen on its own}; null when too many states. */
        private Boolean[] reachable(Op fin, List<String> resources, List<Anchor> combo) {
            int n = resources.size();
            long[] gap = new long[n];
            List<long[]> jointItems = new ArrayList<>();
            List<long[]> singleItems = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                gap[i] = fin.deltas.get(resources.get(i)) - combo.get(i).value;
            }
            Set<Op> seen = new HashSet<>();
            for (Op op : changes.getOrDefault(fin.subject, List.of())) {
                if (!seen.add(op)) {
                    continue;
                }
                long[] vec = new long[n];
                boolean allMaybe = true;
                boolean anyMaybe = false;
                for (int i = 0; i < n; i++) {
                    Long d = op.deltas.get(resources.get(i));
                    if (d == null || d == 0) {
                        continue;
                    }
                    Part p = part(op, fin.subject, combo.get(i), Long.MAX_VALUE, Long.MAX_VALUE, true);
                    if (p == Part.EXACT) {
                        gap[i] -= d;
                        allMaybe = false;
                    } else if (p == Part.MAYBE) {
                        vec[i] = d;
                        anyMaybe = true;
                    } else {
                        allMaybe = false;
                    }
                }
                if (!anyMaybe) {
                    continue;
                }
                // Applied or not as one transaction, unless it raced a refresh (then each counter on its own).
                boolean oneTxn = allMaybe && op.outcome != Outcome.OK && sameAnchor(combo, op, resources);
                if (oneTxn) {
                    jointItems.add(vec);
                } else {
                    for (int i = 0; i < n; i++) {
                        if (vec[i] != 0) {
                            long[] single = new long[n];
                            single[i] = vec[i];
                            jointItems.add(single);
                        }
                    }
                }
                for (int i = 0; i < n; i++) {
                    if (vec[i] != 0) {
                        long[] single = new long[n];
                        single[i] = vec[i];
                        singleItems.add(single);
                    }
                }
            }
            Boolean j = subsetSum(jointItems, gap);
            Boolean s = subsetSum(singleItems, gap);
            if (j == null || s == null) {
                return null;
            }
            return new Boolean[] {j, s};
        }

        private boolean sameAnchor(List<Anchor> combo, Op op, List<String> resources) {
            Op first = null;
            boolean set = false;
            for (int i = 0; i < resources.size(); i++) {
                if (op.deltas.containsKey(resources.get(i))) {
                    Op r = combo.get(i).refresh;
                    if (set && r != first) {
                        return false;
                    }
                    first = r;
                    set = true;
                }
            }
            return true;
        }

        private List<String> excerpt(Op read, String resource, long a, long b) {
            List<String> lines = new ArrayList<>();
            lines.add("read: " + read);
            for (Anchor anchor : candidates(counter(read.subject, resource), a, b)) {
                lines.add("from " + anchor.describe() + (anchor.refresh == null ? "" : ": " + anchor.refresh));
            }
            List<Op> related = new ArrayList<>();
            for (Op op : changes.getOrDefault(read.subject, List.of())) {
                if (op.deltas.containsKey(resource) && op.invoke <= b && op.outcome != Outcome.FAIL) {
                    related.add(op);
                }
            }
            int from = Math.max(0, related.size() - 8);
            related.subList(from, related.size()).forEach(op -> lines.add(op.toString()));
            if (from > 0) {
                lines.add("(" + from + " earlier operations on " + read.subject + " not shown)");
            }
            return lines;
        }
    }

    private static Boolean subsetSum(List<long[]> items, long[] target) {
        Set<List<Long>> states = new HashSet<>();
        states.add(vector(new long[target.length]));
        for (long[] item : items) {
            Set<List<Long>> next = new HashSet<>(states);
            for (List<Long> s : states) {
                long[] sum = new long[target.length];
                for (int i = 0; i < sum.length; i++) {
                    sum[i] = s.get(i) + item[i];
                }
                next.add(vector(sum));
            }
            states = next;
            if (states.size() > MAX_STATES) {
                return null;
            }
        }
        return states.contains(vector(target));
    }

    private static List<Long> vector(long[] v) {
        List<Long> out = new ArrayList<>(v.length);
        for (long x : v) {
            out.add(x);
        }
        return out;
    }

    private static <T> List<List<T>> combos(List<List<T>> choices, int max) {
        List<List<T>> out = new ArrayList<>();
        out.add(new ArrayList<>());
        for (List<T> options : choices) {
            List<List<T>> next = new ArrayList<>();
            for (List<T> prefix : out) {
                for (T option : options) {
                    if (next.size() >= max) {
                        break;
                    }
                    List<T> extended = new ArrayList<>(prefix);
                    extended.add(option);
                    next.add(extended);
                }
            }
            out = next;
        }
        return out;
    }
}
