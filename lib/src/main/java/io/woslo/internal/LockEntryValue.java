package io.woslo.internal;

import io.etcd.jetcd.ByteSequence;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

/**
 * The value stored in a lock's queue entry: who holds or waits, for people (and the inspection) reading etcd. The
 * engine reads only entry names and revisions, never values, so a value is information, not state.
 *
 * <pre>
 * {"owner":7,"mode":"write","holder":"1234@host","leaseSeconds":60}   as queued
 * {"mode":"read","holder":"1234@host","lastWrite":"&lt;id&gt;"}            after a fenced counter write ({@link Fence})
 * </pre>
 */
public final class LockEntryValue {
    /** This process, as {@code pid@host}. */
    static final String HOLDER = ManagementFactory.getRuntimeMXBean().getName();

    private LockEntryValue() {
    }

    /** The value of a new entry of {@code policy} for {@code ownerId}, on a lease of {@code leaseTime}. */
    public static ByteSequence of(LockPolicy policy, long ownerId, Duration leaseTime) {
        return Json.write(Map.of(
                "owner", ownerId,
                "mode", policy.label(),
                "holder", HOLDER,
                "leaseSeconds", leaseTime.toSeconds()));
    }

    /** The value of an entry rewritten by a fenced write with id {@code writeId} (see {@link Fence#touch}). */
    static ByteSequence touched(LockPolicy policy, String writeId) {
        return Json.write(new TreeMap<>(Map.of("mode", policy.label(), "holder", HOLDER, "lastWrite", writeId)));
    }

    /** The owner id in an entry's value; 0 when there is none (rewritten by a write, or not written by WOSLO). */
    public static long ownerOf(ByteSequence value) {
        Long owner = ownerOrNull(value);
        return owner == null ? 0 : owner;
    }

    /** The owner id in an entry's value, or null when there is none (rewritten by a write, or not written by WOSLO). */
    public static Long ownerOrNull(ByteSequence value) {
        try {
            com.fasterxml.jackson.databind.JsonNode owner = Json.MAPPER.readTree(value.getBytes()).path("owner");
            return owner.isIntegralNumber() ? owner.asLong() : null;
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }
}
