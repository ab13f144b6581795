package io.woslo.quota;

import io.woslo.internal.KeyLayout;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Validation of the arguments of quota calls; every message names the bad value. */
final class Requirements {
    /** How far in the future an error time may lie before it is refused (clock skew between hosts). */
    static final Duration MAX_ERROR_TIME_SKEW = Duration.ofMinutes(5);
    /** The earliest {@code errorTime}: counters keep times as epoch milliseconds, which reach no further back. */
    static final Instant EARLIEST_ERROR_TIME = Instant.ofEpochMilli(Long.MIN_VALUE);

    private Requirements() {
    }

    static String account(String account) {
        return KeyLayout.requireName("account", account);
    }

    /**
     * Checks a map of amounts and returns its non-zero entries in the caller's order.
     *
     * @param what "requirement" or "amounts", for messages
     */
    static Map<String, Long> amounts(String what, Map<String, Long> amounts, Set<String> known) {
        if (amounts == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
        Map<String, Long> out = new LinkedHashMap<>();
        for (Map.Entry<String, Long> entry : amounts.entrySet()) {
            String resource = entry.getKey();
            Long amount = entry.getValue();
            if (resource == null) {
                throw new IllegalArgumentException(what + " names a null resource");
            }
            if (!known.contains(resource)) {
                throw new IllegalArgumentException("unknown resource '" + resource + "'; known resources: "
                        + known.stream().sorted().toList());
            }
            if (amount == null) {
                throw new IllegalArgumentException(what + " gives no amount for resource '" + resource + "'");
            }
            if (amount < 0) {
                throw new IllegalArgumentException(what + " asks a negative amount for resource '" + resource + "': "
                        + amount);
            }
            if (amount > 0) {
                out.put(resource, amount);
            }
        }
        return out;
    }

    static List<String> resources(String[] resources, Set<String> known) {
        if (resources == null) {
            throw new IllegalArgumentException("resources must not be null");
        }
        if (resources.length == 0) {
            return known.stream().sorted().toList();
        }
        for (String resource : resources) {
            if (resource == null) {
                throw new IllegalArgumentException("resources must not contain null");
            }
            if (!known.contains(resource)) {
                throw new IllegalArgumentException("unknown resource '" + resource + "'; known resources: "
                        + known.stream().sorted().toList());
            }
        }
        return Arrays.stream(resources).distinct().toList();
    }

    static Instant errorTime(Instant errorTime, Clock clock) {
        if (errorTime == null) {
            throw new IllegalArgumentException("errorTime must not be null");
        }
        if (errorTime.isBefore(EARLIEST_ERROR_TIME)) {
            throw new IllegalArgumentException("errorTime " + errorTime + " is out of range; the earliest is "
                    + EARLIEST_ERROR_TIME);
        }
        Instant latest = clock.instant().plus(MAX_ERROR_TIME_SKEW);
        if (errorTime.isAfter(latest)) {
            throw new IllegalArgumentException("errorTime " + errorTime + " is in the future (now " + clock.instant()
                    + "); an error cannot have happened yet");
        }
        return errorTime;
    }
    /**
     * Checks the amounts a caller keeps of a reservation ({@code what} names it in messages): each names a resource
     * the reservation holds, is not negative and at most what was reserved. Returns what goes back, by resource (the
     * non-zero differences; resources not kept go back entirely).
     */
    static Map<String, Long> givenBack(String what, Map<String, Long> reserved, Map<String, Long> keep) {
        kept(what, reserved, keep);
        Map<String, Long> out = new LinkedHashMap<>();
        reserved.forEach((resource, amount) -> {
            long back = amount - keep.getOrDefault(resource, 0L);
            if (back > 0) {
                out.put(resource, back);
            }
        });
        return out;
    }

    /** The checks of {@link #givenBack}. */
    static void kept(String what, Map<String, Long> reserved, Map<String, Long> keep) {
        if (keep == null) {
            throw new IllegalArgumentException("the amounts kept of " + what + " must not be null");
        }
        keep.forEach((resource, amount) -> {
            if (resource == null) {
                throw new IllegalArgumentException("the amounts kept of " + what + " name a null resource");
            }
            if (amount == null || amount < 0) {
                throw new IllegalArgumentException("the amount kept of resource '" + resource + "' of " + what
                        + " must be a whole number of at least 0, got " + amount);
            }
            long held = reserved.getOrDefault(resource, 0L);
            if (amount > held) {
                throw new IllegalArgumentException(held == 0 && !reserved.containsKey(resource)
                        ? what + " did not reserve resource '" + resource + "' (it reserved " + reserved
                                + "), so it cannot keep " + amount + " of it"
                        : "cannot keep " + amount + " of resource '" + resource + "': " + what + " reserved only "
                                + held);
            }
        });
    }

    /** Checks the length of an extension. */
    static Duration extension(Duration by, Duration max) {
        if (by == null) {
            throw new IllegalArgumentException("the extension must not be null");
        }
        if (by.isNegative() || by.isZero() || by.compareTo(max) > 0) {
            throw new IllegalArgumentException("an extension must be positive and at most " + max + ", got " + by);
        }
        return by;
    }
}
