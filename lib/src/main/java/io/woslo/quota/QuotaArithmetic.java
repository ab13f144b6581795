package io.woslo.quota;

import io.woslo.internal.Counter;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.VersionedCounter;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The quota arithmetic, with no etcd in it: whether an amount fits (THE quota rule), the plans that reserve and
 * release on a given state of the counters, and when a counter is stale. Every path that decides on quota (the slow
 * path, the fast path's batches, a dry run) and every release asks here, so the rule is written once.
 *
 * <p>A plan is a pure function of the counters it is given: it returns the new counter values, or throws the refusal
 * ({@link QuotaExceededException}, {@link QuotaAbnormalException}). Only {@link #clock} is read, for the
 * {@code refreshedAt} of a counter created by the plan and for staleness.
 */
final class QuotaArithmetic {
    private final Clock clock;
    private final Duration cacheTtl;

    QuotaArithmetic(Clock clock, Duration cacheTtl) {
        this.clock = clock;
        this.cacheTtl = cacheTtl;
    }

    /**
     * THE quota rule: whether {@code amount} more would take {@code used} over {@code quota}. Written so that no sum
     * overflows: {@code used + amount > quota} without computing {@code used + amount}.
     */
    static boolean exceeds(long amount, long used, long quota) {
        return amount > quota - used || used > Long.MAX_VALUE - amount;
    }

    /** The refusal of {@code amount} of {@code resource} on these figures, or null when it fits. */
    static QuotaExceededException refusal(String account, String resource, long amount, long used, long quota) {
        return exceeds(amount, used, quota) ? new QuotaExceededException(account, resource, amount, used, quota) : null;
    }

    /** The current time in epoch milliseconds, by the injected clock. */
    long nowMillis() {
        return clock.millis();
    }

    /** Whether a counter is older than the cache TTL and must be refreshed before it is used. */
    boolean isStale(Counter counter) {
        return counter.refreshedAt() < clock.millis() - cacheTtl.toMillis();
    }

    /** The existing counters older than the cache TTL (missing ones are created by the reservation itself). */
    List<String> stale(Map<String, VersionedCounter> current) {
        List<String> stale = new ArrayList<>();
        current.forEach((resource, versioned) -> {
            if (versioned.exists() && isStale(versioned.counter())) {
                stale.add(resource);
            }
        });
        return stale;
    }

    /**
     * The slow path's plan: {@code wanted} added to {@code current}, all or nothing, each resource checked against
     * its handler's quota ({@code limits}). A missing counter is created from its handler's used figure
     * ({@code usedOfMissing}).
     *
     * @throws QuotaExceededException naming the first short resource in {@code wanted}'s order
     */
    Map<String, Counter> reservePlan(String account, Map<String, Long> wanted, Map<String, Long> limits,
                                     Map<String, Long> usedOfMissing, Map<String, VersionedCounter> current) {
        Map<String, Counter> out = new LinkedHashMap<>();
        for (Map.Entry<String, Long> entry : wanted.entrySet()) {
            String resource = entry.getKey();
            long amount = entry.getValue();
            Counter counter = current.get(resource).counter();
            if (counter == null) {
                Long truth = usedOfMissing.get(resource);
                if (truth == null) { // created by another reservation since our read, then gone again: rare; retry
                    throw new EtcdUnavailableException("the counter of resource '" + resource + "' for account '"
                            + account + "' changed while it was being created", null);
                }
                counter = new Counter(truth, limits.get(resource), clock.millis());
            }
            long quota = limits.get(resource);
            long used = counter.used();
            QuotaExceededException refused = refusal(account, resource, amount, used, quota);
            if (refused != null) {
                throw refused;
            }
            out.put(resource, new Counter(used + amount, quota, counter.refreshedAt()));
        }
        return out;
    }

    /**
     * A dry run's verdict: {@code wanted} judged on {@code handlerUsed} where given (missing or stale counters),
     * else on the cached counter's used figure.
     *
     * @throws QuotaExceededException naming the first short resource in {@code wanted}'s order
     */
    static void checkFits(String account, Map<String, Long> wanted, Map<String, Long> limits,
                          Map<String, Long> handlerUsed, Map<String, VersionedCounter> current) {
        for (Map.Entry<String, Long> entry : wanted.entrySet()) {
            String resource = entry.getKey();
            Long fresh = handlerUsed.get(resource);
            long used = fresh != null ? fresh : current.get(resource).counter().used();
            QuotaExceededException refused = refusal(account, resource, entry.getValue(), used, limits.get(resource));
            if (refused != null) {
                throw refused;
            }
        }
    }

    /** A batch planned on one state of the counters: the requests that fit (in arrival order) and the refusals. */
    record Planned<R>(List<R> fits, Map<R, QuotaExceededException> refused) {
    }

    /**
     * Plans {@code batch} in arrival order on {@code working}, which it leaves as the fitting requests make it: each
     * request is all-or-nothing over its resources, and one that does not fit is refused with the figures it saw.
     */
    static <R> Planned<R> planBatch(String account, List<R> batch, Function<R, Map<String, Long>> wanted,
                                    Map<String, Counter> working, Map<String, Long> limits) {
        List<R> fits = new ArrayList<>();
        Map<R, QuotaExceededException> refused = new HashMap<>();
        for (R request : batch) {
            QuotaExceededException refusal = apply(account, wanted.apply(request), working, limits);
            if (refusal == null) {
                fits.add(request);
            } else {
                refused.put(request, refusal);
            }
        }
        return new Planned<>(fits, refused);
    }

    /**
     * Applies {@code wanted} to {@code working} if all of it fits, else returns the refusal of its first short
     * resource.
     */
    static QuotaExceededException apply(String account, Map<String, Long> wanted, Map<String, Counter> working,
                                        Map<String, Long> limits) {
        for (Map.Entry<String, Long> entry : wanted.entrySet()) {
            Counter counter = working.get(entry.getKey());
            QuotaExceededException refused = refusal(account, entry.getKey(), entry.getValue(), counter.used(),
                    limits.get(entry.getKey()));
            if (refused != null) {
                return refused;
            }
        }
        wanted.forEach((resource, amount) -> {
            Counter counter = working.get(resource);
            working.put(resource, new Counter(counter.used() + amount, limits.get(resource), counter.refreshedAt()));
        });
        return null;
    }

    /**
     * Lowers each counter by {@code amounts} (under a held read lock: nothing refreshed since); missing ones are
     * skipped.
     */
    Map<String, Counter> lowerPlan(String account, Map<String, Long> amounts, Map<String, VersionedCounter> current) {
        return releasePlan(account, amounts, current, Long.MAX_VALUE, Map.of());
    }

    /**
     * A release's plan: each counter lowered by its amount, all or nothing, skipping counters refreshed after
     * {@code skipRefreshedAfter} (the refresh already saw the truth). A missing counter is created from its handler's
     * figures in {@code truthOfMissing} (a {@code long[]{used, quota}}, which already counts the release), fails when
     * its handler failed (the error message), and is skipped when not named there.
     *
     * @throws QuotaAbnormalException when a counter would go below zero
     * @throws QuotaUnavailableException when a missing counter's handler failed
     */
    Map<String, Counter> releasePlan(String account, Map<String, Long> amounts, Map<String, VersionedCounter> current,
                                     long skipRefreshedAfter, Map<String, Object> truthOfMissing) {
        Map<String, Counter> out = new LinkedHashMap<>();
        for (Map.Entry<String, Long> entry : amounts.entrySet()) {
            Counter counter = current.get(entry.getKey()).counter();
            if (counter == null) {
                Object figures = truthOfMissing.get(entry.getKey());
                if (figures instanceof long[] f) { // the source already counts the release
                    out.put(entry.getKey(), new Counter(f[0], f[1], clock.millis()));
                } else if (figures != null) {
                    throw new QuotaUnavailableException("the counter of resource '" + entry.getKey() + "' of account '"
                            + account + "' is missing and its handler failed: " + figures, null);
                }
                continue;
            }
            if (counter.refreshedAt() > skipRefreshedAfter) {
                continue;
            }
            if (counter.used() < entry.getValue()) {
                throw new QuotaAbnormalException(account, entry.getKey(), counter.used(), entry.getValue());
            }
            out.put(entry.getKey(), counter.withUsed(counter.used() - entry.getValue()));
        }
        return out;
    }

    /**
     * Which of {@code all} a refresh re-reads: every one when {@code force}, else those missing or not refreshed
     * within {@code debounce}. Returns the due ones; {@code skipped} receives the others.
     */
    List<String> dueForRefresh(List<String> all, Map<String, VersionedCounter> current, boolean force,
                               Duration debounce, List<String> skipped) {
        long now = clock.millis();
        List<String> due = new ArrayList<>();
        for (String resource : all) {
            VersionedCounter versioned = current.get(resource);
            boolean recent = versioned.exists() && now - versioned.counter().refreshedAt() < debounce.toMillis();
            (force || !recent ? due : skipped).add(resource);
        }
        return due;
    }
}
