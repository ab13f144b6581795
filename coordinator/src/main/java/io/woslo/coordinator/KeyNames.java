package io.woslo.coordinator;

import java.nio.charset.StandardCharsets;

/**
 * The escaping of names into etcd key segments that CONTRACT.md §4 fixes (percent-encoding, upper-case hex,
 * RFC 3986 unreserved characters kept). The coordinator needs it only to read a ledger counter directly.
 */
final class KeyNames {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private KeyNames() {
    }

    static String escape(String name) {
        StringBuilder out = new StringBuilder();
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
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
}
