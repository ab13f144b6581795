package io.woslo.internal;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one owner of WOSLO's etcd key layout and of the escaping of names.
 *
 * <pre>
 * &lt;ns&gt;/quota/&lt;account&gt;/&lt;resource&gt;   counter JSON {"used","quota","refreshedAt"}
 * &lt;ns&gt;/accounts/&lt;account&gt;            account index JSON {"refreshedAt"}
 * &lt;ns&gt;/locks/&lt;key&gt;/&lt;entry&gt;          lock holders and waiters, each on its lease
 *     entries: r-&lt;lease hex&gt;-&lt;tag&gt;&lt;n&gt; (a reader),
 *     w-&lt;lease hex&gt;-&lt;tag&gt;&lt;n&gt; (a writer),
 *     r-&lt;reservation id&gt; (an HTTP reservation's reader); any other name counts as a writer
 * &lt;ns&gt;/reservations/&lt;id&gt;             reservations made over HTTP
 * &lt;ns&gt;/idempotency/&lt;key&gt;            the first outcome of a request sent with that Idempotency-Key
 * </pre>
 *
 * Account, resource and lock names are single path segments, percent-encoded with upper-case hex; RFC 3986
 * unreserved characters ({@code A-Z a-z 0-9 - . _ ~}) stay as they are. Escaping is injective and never yields
 * {@code /}, so no name can reach a key outside its own place.
 */
public final class KeyLayout {
    /** The namespace used when none is configured. */
    public static final String DEFAULT_NAMESPACE = "/woslo";
    /** Longest accepted name, in characters, before escaping. */
    public static final int MAX_NAME_LENGTH = 256;
    /** Lock keys starting with this are the quota manager's account locks ({@code quota/<account>}). */
    public static final String ACCOUNT_LOCK_PREFIX = "quota/";

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();
    private static final String READ_ENTRY = "r-";
    private static final String WRITE_ENTRY = "w-";
    /** How much of a reservation id names its read entry (a UUID's length). */
    private static final int RESERVATION_ENTRY_ID_LENGTH = 36;
    /** Makes the lock entry names this process creates unique (with their lease, which is this process's own). */
    private static final AtomicLong ENTRY_SEQUENCE = new AtomicLong();

    private final String namespace;

    public KeyLayout(String namespace) {
        this.namespace = validateNamespace(namespace);
    }

    /**
     * Checks a namespace: it starts with {@code /}, does not end with one, and has no empty segment, whitespace or
     * control character. Returns it unchanged.
     */
    public static String validateNamespace(String namespace) {
        if (namespace == null) {
            throw new IllegalArgumentException("namespace must not be null");
        }
        if (!namespace.startsWith("/") || namespace.length() < 2 || namespace.endsWith("/")
                || namespace.contains("//")) {
            throw new IllegalArgumentException("namespace must look like /woslo or /team/woslo (a leading '/', no"
                    + " trailing '/', no empty segment), got '" + namespace + "'");
        }
        for (int i = 0; i < namespace.length(); i++) {
            char c = namespace.charAt(i);
            if (Character.isWhitespace(c) || Character.isISOControl(c)) {
                throw new IllegalArgumentException("namespace must not contain whitespace or control characters, got '"
                        + namespace + "'");
            }
        }
        return namespace;
    }

    /**
     * Checks that {@code value} is usable as a name of the given kind ("account", "resource", "lock key") and returns
     * it: not null, not empty, at most {@link #MAX_NAME_LENGTH} characters, no unpaired surrogate.
     */
    public static String requireName(String what, String value) {
        if (value == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
        if (value.isEmpty()) {
            throw new IllegalArgumentException(what + " must not be empty");
        }
        if (value.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException(what + " must be at most " + MAX_NAME_LENGTH + " characters, got "
                    + value.length() + " characters starting '" + value.substring(0, 32) + "...'");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isHighSurrogate(c)
                    && (i + 1 == value.length() || !Character.isLowSurrogate(value.charAt(i + 1)))
                    || Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(value.charAt(i - 1)))) {
                throw new IllegalArgumentException(what + " '" + value + "' contains an unpaired UTF-16 surrogate");
            }
        }
        return value;
    }

    /** Percent-encodes a name into one key segment (upper-case hex, unreserved characters kept). */
    public static String escape(String name) {
        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder(utf8.length + 8);
        for (byte b : utf8) {
            int c = b & 0xFF;
            if (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                out.append((char) c);
            } else {
                out.append('%').append(HEX[c >> 4]).append(HEX[c & 0xF]);
            }
        }
        return out.toString();
    }

    /** The inverse of {@link #escape}. */
    public static String unescape(String segment) {
        byte[] out = new byte[segment.length()];
        int n = 0;
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (c == '%' && i + 2 < segment.length()) {
                out[n++] = (byte) Integer.parseInt(segment.substring(i + 1, i + 3), 16);
                i += 2;
            } else {
                out[n++] = (byte) c;
            }
        }
        return new String(out, 0, n, StandardCharsets.UTF_8);
    }

    public String namespace() {
        return namespace;
    }

    /** {@code <ns>/quota/<account>/<resource>} */
    public String quotaKey(String account, String resource) {
        return quotaPrefix(account) + escape(resource);
    }

    /** {@code <ns>/quota/<account>/}: every counter of one account. */
    public String quotaPrefix(String account) {
        return namespace + "/quota/" + escape(account) + "/";
    }

    /** {@code <ns>/accounts/<account>} */
    public String accountKey(String account) {
        return accountsPrefix() + escape(account);
    }

    /** {@code <ns>/accounts/} */
    public String accountsPrefix() {
        return namespace + "/accounts/";
    }

    /** {@code <ns>/locks/<key>/}: the queue of one lock. */
    public String lockPrefix(String lockKey) {
        return namespace + "/locks/" + escape(lockKey) + "/";
    }

    /**
     * A new, unique entry key in {@code lockKey}'s queue for an entry of {@code policy} on {@code leaseId}:
     * {@code <ns>/locks/<key>/r-<lease hex>-<tag><n>} (or {@code w-}), {@code n} counting this process's entries.
     * {@code tag} (may be empty) lets its maker recognise its own entries ({@link #isTaggedEntry}).
     */
    public String newLockEntryKey(String lockKey, LockPolicy policy, long leaseId, String tag) {
        return lockPrefix(lockKey) + (policy.isWrite() ? WRITE_ENTRY : READ_ENTRY) + Long.toHexString(leaseId) + "-"
                + tag + ENTRY_SEQUENCE.incrementAndGet();
    }

    /** {@link #newLockEntryKey(String, LockPolicy, long, String)} without a tag. */
    public String newLockEntryKey(String lockKey, LockPolicy policy, long leaseId) {
        return newLockEntryKey(lockKey, policy, leaseId, "");
    }

    /** {@code <ns>/locks/<key>/w-}: a range over it finds the lock's writers. */
    public String lockWritersPrefix(String lockKey) {
        return lockPrefix(lockKey) + WRITE_ENTRY;
    }

    /**
     * Whether {@code entryKey}, a key under {@code lockPrefix} (a {@link #lockPrefix}), is a writer's entry. Only a
     * name starting with {@code r-} is a reader's: a key not written by WOSLO (someone's hand) blocks everyone after
     * it, as a writer would.
     */
    public static boolean isWriteEntry(String lockPrefix, String entryKey) {
        return !entryKey.startsWith(READ_ENTRY, lockPrefix.length());
    }

    /** Whether {@code entryKey} was made by {@link #newLockEntryKey} with the non-empty {@code tag}. */
    public static boolean isTaggedEntry(String entryKey, String tag) {
        return entryKey.contains("-" + tag);
    }

    /** {@code <ns>/reservations/<id>} */
    public String reservationKey(String id) {
        return reservationsPrefix() + escape(id);
    }

    /** {@code <ns>/idempotency/<key>} */
    public String idempotencyKey(String key) {
        return namespace + "/idempotency/" + escape(key);
    }

    /** {@code <ns>/reservations/} */
    public String reservationsPrefix() {
        return namespace + "/reservations/";
    }

    /** The account name of a key under {@link #accountsPrefix()}. */
    public String accountOf(String accountKey) {
        return unescape(accountKey.substring(accountsPrefix().length()));
    }

    /** The resource name of a key under {@link #quotaPrefix(String)} of {@code account}. */
    public String resourceOf(String account, String quotaKey) {
        return unescape(quotaKey.substring(quotaPrefix(account).length()));
    }

    /** The reservation id of a key under {@link #reservationsPrefix()}. */
    public String reservationIdOf(String reservationKey) {
        return unescape(reservationKey.substring(reservationsPrefix().length()));
    }

    /** The lock key of an account's quota lock: {@code quota/<account>} (stored as {@code quota%2F<account>}). */
    public static String accountLockKey(String account) {
        return ACCOUNT_LOCK_PREFIX + account;
    }

    /**
     * Checks the name of one entry of a lock's queue (the last segment of {@code <ns>/locks/<key>/<entry>}) and
     * returns it: not null, not empty, at most {@link #MAX_NAME_LENGTH} characters, no {@code /}.
     */
    public static String requireEntryName(String entry) {
        if (entry == null) {
            throw new IllegalArgumentException("lock entry name must not be null");
        }
        if (entry.isEmpty()) {
            throw new IllegalArgumentException("lock entry name must not be empty");
        }
        if (entry.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("lock entry name must be at most " + MAX_NAME_LENGTH
                    + " characters, got " + entry.length());
        }
        if (entry.indexOf('/') >= 0) {
            throw new IllegalArgumentException("lock entry name '" + entry + "' must not contain '/'");
        }
        return entry;
    }

    /**
     * The name of a stored reservation's read entry in its account's lock: {@code r-<the first 36 characters of its
     * id>} (the UUID of an id made by the quota engine).
     */
    public static String reservationEntryName(String reservationId) {
        return READ_ENTRY + reservationId.substring(0, Math.min(RESERVATION_ENTRY_ID_LENGTH, reservationId.length()));
    }

    /**
     * {@code <ns>/locks/<key>/r-<id>} ({@link #reservationEntryName}): the key of the read entry a stored reservation
     * with {@code reservationId} would hold. Not checked as an entry name ({@link #lockEntryKey} is): an id the engine
     * did not make just names no entry.
     */
    public String reservationEntryKey(String lockKey, String reservationId) {
        return lockPrefix(lockKey) + reservationEntryName(reservationId);
    }

    /** {@code <ns>/locks/<key>/<entry>}: one entry of a lock's queue (the entry name as stored, not escaped). */
    public String lockEntryKey(String lockKey, String entry) {
        return lockPrefix(lockKey) + requireEntryName(entry);
    }

    /** The entry name of a key under {@link #lockPrefix(String) lockPrefix(lockKey)}. */
    public String lockEntryName(String lockKey, String entryKey) {
        String prefix = lockPrefix(lockKey);
        if (!entryKey.startsWith(prefix)) {
            throw new IllegalArgumentException("'" + entryKey + "' is not an entry of lock '" + lockKey + "'");
        }
        return entryKey.substring(prefix.length());
    }

    /** {@code <ns>/}: every key WOSLO keeps (a prefix, unlike the namespace itself). */
    public String namespaceRoot() {
        return namespace + "/";
    }

    /** {@code <ns>/quota/}: every counter of every account. */
    public String quotaRoot() {
        return namespace + "/quota/";
    }

    /** {@code <ns>/locks/}: every lock. */
    public String locksRoot() {
        return namespace + "/locks/";
    }

    /**
     * The (account, resource) of a counter key under {@link #quotaRoot()}, or null for any other key (one not written
     * by WOSLO, with a malformed escape, included).
     */
    public String[] counterOf(String key) {
        try {
            return parseCounter(key);
        } catch (IllegalArgumentException malformed) {
            return null;
        }
    }

    private String[] parseCounter(String key) {
        if (!key.startsWith(quotaRoot())) {
            return null;
        }
        String rest = key.substring(quotaRoot().length());
        int slash = rest.indexOf('/');
        if (slash <= 0 || slash == rest.length() - 1 || rest.indexOf('/', slash + 1) >= 0) {
            return null;
        }
        return new String[] {unescape(rest.substring(0, slash)), unescape(rest.substring(slash + 1))};
    }

    /**
     * Where a key of the namespace belongs: its kind and the names it is about, decoded. The kinds are
     * {@code account} ({@code <ns>/accounts/<account>}), {@code quota} (a counter), {@code reservation},
     * {@code lock} (an entry of a lock's queue; an account's quota lock names the account as well) and
     * {@code idempotency}; null for a key outside them.
     *
     * @param kind the kind of key
     * @param account the account it is about, or null
     * @param lock the lock key it is about, or null
     * @param id a reservation id or an idempotency key, or null
     */
    public record Place(String kind, String account, String lock, String id) {
    }

    /**
     * The {@link Place} of {@code key}, or null when it is not one of WOSLO's keys under this namespace (a key with a
     * malformed escape included).
     */
    public Place placeOf(String key) {
        try {
            return parsePlace(key);
        } catch (IllegalArgumentException malformed) {
            return null;
        }
    }

    private Place parsePlace(String key) {
        if (key.startsWith(accountsPrefix())) {
            String rest = key.substring(accountsPrefix().length());
            return rest.isEmpty() || rest.indexOf('/') >= 0 ? null : new Place("account", unescape(rest), null, null);
        }
        String[] counter = counterOf(key);
        if (counter != null) {
            return new Place("quota", counter[0], null, null);
        }
        if (key.startsWith(locksRoot())) {
            String rest = key.substring(locksRoot().length());
            int slash = rest.indexOf('/');
            if (slash <= 0) {
                return null;
            }
            String lock = unescape(rest.substring(0, slash));
            String account = lock.startsWith(ACCOUNT_LOCK_PREFIX) ? lock.substring(ACCOUNT_LOCK_PREFIX.length()) : null;
            return new Place("lock", account, lock, null);
        }
        if (key.startsWith(reservationsPrefix())) {
            return new Place("reservation", null, null, unescape(key.substring(reservationsPrefix().length())));
        }
        String idempotency = namespace + "/idempotency/";
        if (key.startsWith(idempotency)) {
            return new Place("idempotency", null, null, unescape(key.substring(idempotency.length())));
        }
        return null;
    }
}
