package io.woslo.quota;

import io.woslo.internal.KeyLayout;
import java.time.Duration;
import java.util.UUID;

/**
 * The ids of reservations kept by id (the HTTP API's; the name of the lock entry each holds is
 * {@link KeyLayout#reservationEntryName}'s). Opaque to clients; an id names its account, so an end needs no read to
 * find the account's lock.
 */
final class ReservationIds {
    private static final String NOOP_PREFIX = "noop-";
    private static final int UUID_LENGTH = 36;
    /** The longest one extension may ask for. */
    static final Duration MAX_EXTENSION = Duration.ofDays(1);

    private ReservationIds() {
    }

    /** A checked id: a valid name (the message names the value). */
    static String require(String id) {
        return KeyLayout.requireName("reservation id", id);
    }

    /** Whether {@code id} is one of a reservation that changed nothing (see {@link #noopId}), valid or not. */
    static boolean looksNoop(String id) {
        return id.startsWith(NOOP_PREFIX);
    }

    /**
     * A new reservation's id: a random UUID, then {@code .} and the account in unpadded base64url, so that an end
     * needs no read to find the account's lock (ids stay within {@link KeyLayout#MAX_NAME_LENGTH}; for a longer
     * account, the UUID alone). Opaque to clients: only URL-safe characters.
     */
    static String newId(String account) {
        String uuid = UUID.randomUUID().toString();
        String id = uuid + "." + java.util.Base64.getUrlEncoder().withoutPadding()
                .encodeToString(account.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return id.length() <= KeyLayout.MAX_NAME_LENGTH ? id : uuid;
    }

    /** The account an id made by {@link #newId} names, or null when it names none. */
    static String accountOf(String id) {
        int dot = id.indexOf('.');
        if (dot != UUID_LENGTH || dot == id.length() - 1) {
            return null;
        }
        try {
            return new String(java.util.Base64.getUrlDecoder().decode(id.substring(dot + 1)),
                    java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException notBase64) {
            return null;
        }
    }

    /**
     * An id for a reservation that changed nothing (quota off, nothing asked): nothing is stored for it, so the id
     * carries a check of its own, and only ids this code issued end "successfully".
     */
    static String noopId() {
        String uuid = UUID.randomUUID().toString();
        return NOOP_PREFIX + uuid + "-" + noopCheck(uuid);
    }

    static boolean isNoopId(String id) {
        String rest = id.substring(NOOP_PREFIX.length());
        int dash = rest.lastIndexOf('-');
        return dash > 0 && rest.substring(dash + 1).equals(noopCheck(rest.substring(0, dash)));
    }

    private static String noopCheck(String uuid) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(("woslo-noop:" + uuid).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return String.format("%08x", crc.getValue());
    }
}
