package io.woslo.fault;

import io.woslo.quota.UsedQuotaHandler;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The test's record of every quota call and its outcome, per counter ({@code account/resource}).
 *
 * <ul>
 *   <li>A call that returned normally is <b>known</b>: its amounts count in {@link #known}.
 *   <li>A call that failed with a refusal the library promises leaves nothing behind (quota exceeded) counts nowhere.
 *   <li>A call that failed as unavailable (a timeout or a lost answer during a fault) is <b>unknown</b>: etcd may or
 *       may not have applied it. It is kept with its signed amounts; {@link #explain} later finds which of them the
 *       counter shows.
 * </ul>
 *
 * {@link #lowerBound} is a figure that never exceeds the real counter when the library is right: successful
 * reservations are added after they return, releases are subtracted before they are sent. Its peak is the ledger's
 * side of "never over quota".
 *
 * <p>The units kept and not yet deleted ({@link #committed}) are what a service would have committed in its own
 * system of record; {@link #sourceOfTruth} reports them as "used" to the quota manager, so a refresh writes them to
 * the counter.
 */
final class QuotaLedger {
    private final Map<String, Long> start = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> known = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> lowerBound = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> lowerBoundPeak = new ConcurrentHashMap<>();
    /** Units kept by reservations that are not yet cleaned: what a deletion may give back. */
    private final Map<String, AtomicLong> committed = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> committedPeak = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Unknown> unknown = new ConcurrentLinkedQueue<>();

    /** A call whose outcome is unknown: what it would have changed, by counter. */
    record Unknown(String call, Map<String, Long> deltas) {
    }

    static String counter(String account, String resource) {
        return account + "/" + resource;
    }

    void start(String counter, long used) {
        start.put(counter, used);
        lowerBound(counter).set(used);
        lowerBoundPeak.computeIfAbsent(counter, k -> new AtomicLong()).accumulateAndGet(used, Math::max);
    }

    long startOf(String counter) {
        Long used = start.get(counter);
        if (used == null) {
            throw new IllegalStateException("no start value for " + counter);
        }
        return used;
    }

    /** A reservation returned: its amounts are on the counters now. */
    void reserved(String account, Map<String, Long> amounts) {
        amounts.forEach((resource, amount) -> {
            String c = counter(account, resource);
            known(c).addAndGet(amount);
            long now = lowerBound(c).addAndGet(amount);
            lowerBoundPeak.computeIfAbsent(c, k -> new AtomicLong()).accumulateAndGet(now, Math::max);
        });
    }

    /** A reservation is kept (closed without rollback): its units may be cleaned later. */
    void kept(String account, Map<String, Long> amounts) {
        amounts.forEach((resource, amount) -> {
            String c = counter(account, resource);
            long now = committed(c).addAndGet(amount);
            committedPeak.computeIfAbsent(c, k -> new AtomicLong()).accumulateAndGet(now, Math::max);
        });
    }

    /** A release (rollback or clean) is about to be sent: lowers the lower bound first, as promised above. */
    void releasing(String account, Map<String, Long> amounts) {
        amounts.forEach((resource, amount) -> lowerBound(counter(account, resource)).addAndGet(-amount));
    }

    /** A release returned: the amounts are off the counters. */
    void released(String account, Map<String, Long> amounts) {
        amounts.forEach((resource, amount) -> known(counter(account, resource)).addAndGet(-amount));
    }

    /** A call failed as unavailable; {@code sign} is +1 for a reservation, -1 for a release. */
    void unknown(String call, String account, Map<String, Long> amounts, int sign) {
        Map<String, Long> deltas = new TreeMap<>();
        amounts.forEach((resource, amount) -> deltas.put(counter(account, resource), sign * amount));
        unknown.add(new Unknown(call, deltas));
    }

    /** Takes up to {@code wanted} kept units of a counter for a deletion; returns how many it took. */
    long takeCommitted(String account, String resource, long wanted) {
        AtomicLong units = committed(counter(account, resource));
        while (true) {
            long current = units.get();
            long take = Math.min(current, wanted);
            if (units.compareAndSet(current, current - take)) {
                return take;
            }
        }
    }

    /** Gives units back to the pool when a deletion was refused. */
    void returnCommitted(String account, Map<String, Long> amounts) {
        amounts.forEach((resource, amount) -> committed(counter(account, resource)).addAndGet(amount));
    }

    long known(String counter, boolean withStart) {
        return (withStart ? startOf(counter) : 0) + known(counter).get();
    }

    /** The kept units of {@code account/resource} that no deletion took yet. */
    long committed(String account, String resource) {
        return committed(counter(account, resource)).get();
    }

    /** The most units {@code account/resource} ever had kept at once. */
    long committedPeak(String account, String resource) {
        AtomicLong peak = committedPeak.get(counter(account, resource));
        return peak == null ? 0 : peak.get();
    }

    /** A handler for {@code resource} that reports the committed units as used, and {@code quota}. */
    UsedQuotaHandler sourceOfTruth(String resource, long quota) {
        return new UsedQuotaHandler() {
            @Override
            public long queryUsed(String account) {
                return committed(account, resource);
            }

            @Override
            public long queryQuota(String account) {
                return quota;
            }
        };
    }

    long lowerBoundPeak(String counter) {
        AtomicLong peak = lowerBoundPeak.get(counter);
        return peak == null ? 0 : peak.get();
    }

    List<Unknown> unknowns() {
        return List.copyOf(unknown);
    }

    /**
     * Explains {@code actual} against the ledger: the counter must equal start + known + the sum of some subset of
     * the unknown calls' deltas on it. Returns the explanation, or null when no subset fits (a lost or doubled
     * update).
     */
    String explain(String counter, long actual) {
        long expectedKnown = known(counter, true);
        List<Long> deltas = new ArrayList<>();
        for (Unknown u : unknown) {
            Long d = u.deltas().get(counter);
            if (d != null && d != 0) {
                deltas.add(d);
            }
        }
        long gap = actual - expectedKnown;
        // Subset sums of the unknown deltas, each with the fewest calls that reach it (small amounts, so few sums).
        Map<Long, Integer> fewest = new LinkedHashMap<>();
        fewest.put(0L, 0);
        for (long d : deltas) {
            Map<Long, Integer> next = new LinkedHashMap<>(fewest);
            fewest.forEach((sum, count) -> next.merge(sum + d, count + 1, Math::min));
            fewest = next;
        }
        Integer applied = fewest.get(gap);
        if (applied == null) {
            return null;
        }
        return String.format("%s = %d: start %d + known %+d%s", counter, actual, startOf(counter),
                known(counter).get(), deltas.isEmpty() ? ""
                        : String.format(" + %d unknown outcome(s), %s applied (%+d)", deltas.size(),
                                gap == 0 ? "a net of none" : "at least " + applied, gap));
    }

    Iterable<String> counters() {
        return new TreeMap<>(start).keySet();
    }

    private AtomicLong known(String counter) {
        return known.computeIfAbsent(counter, k -> new AtomicLong());
    }

    private AtomicLong lowerBound(String counter) {
        return lowerBound.computeIfAbsent(counter, k -> new AtomicLong());
    }

    private AtomicLong committed(String counter) {
        return committed.computeIfAbsent(counter, k -> new AtomicLong());
    }
}
