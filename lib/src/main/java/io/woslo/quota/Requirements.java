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
        Instant latest = clock.instant().plus(MAX_ERROR_TIME_SKEW);
        if (errorTime.isAfter(latest)) {
            throw new IllegalArgumentException("errorTime " + errorTime + " is in the future (now " + clock.instant()
                    + "); an error cannot have happened yet");
        }
        return errorTime;
    }
}
