package io.woslo.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The escaping of names into key segments and the checks on namespaces and names. No etcd needed. */
class KeyLayoutTest {

    @Test
    void unreservedCharactersAreKept() {
        String unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

        assertThat(KeyLayout.escape(unreserved)).isEqualTo(unreserved);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "a/b       | a%2Fb",
        "a%2Fb     | a%252Fb",
        "%         | %25",
        "a b       | a%20b",
        "ü         | %C3%BC",
        "ÿ         | %C3%BF",
        "日本      | %E6%97%A5%E6%9C%AC",
        "😀        | %F0%9F%98%80",
        "../quota  | ..%2Fquota",
        "'?#[]@!$&'| %3F%23%5B%5D%40%21%24%26",
    })
    void reservedSpaceAndNonAsciiCharactersAreEscapedWithUpperCaseHex(String name, String escaped) {
        assertThat(KeyLayout.escape(name)).isEqualTo(escaped);
    }

    @Test
    void noEscapedNameContainsASlashOrLowerCaseHex() {
        for (int c = 1; c < 0x3000; c++) {
            if (Character.isSurrogate((char) c)) {
                continue;
            }
            String escaped = KeyLayout.escape("x" + (char) c);
            assertThat(escaped).doesNotContain("/");
            assertThat(escaped.replaceAll("%[0-9A-F]{2}", "")).as("escape of U+%04X", c).matches("[A-Za-z0-9._~-]*");
        }
    }

    @Test
    void escapeAndUnescapeRoundTrip() {
        List<String> names = List.of("plain", "a/b", "a%2Fb", "%", "%%41", "a b", "über", "日本", "😀x", "a\tb\n",
                "~-._", "/", "//", "%2F", "a%");
        for (String name : names) {
            assertThat(KeyLayout.unescape(KeyLayout.escape(name))).as(name).isEqualTo(name);
        }
    }

    @Test
    void escapingIsInjective() {
        List<String> names = List.of("a/b", "a%2Fb", "a%252Fb", "a", "a b", "a+b", "a%20b", "A/B");

        assertThat(names.stream().map(KeyLayout::escape).distinct()).hasSameSizeAs(names);
    }

    @Test
    void theLayoutPlacesEscapedNamesUnderTheNamespace() {
        KeyLayout layout = new KeyLayout("/team/woslo");

        assertThat(layout.lockPrefix("a/b")).isEqualTo("/team/woslo/locks/a%2Fb/");
        assertThat(layout.quotaKey("acc/1", "CPU A")).isEqualTo("/team/woslo/quota/acc%2F1/CPU%20A");
        assertThat(layout.accountKey("ü")).isEqualTo("/team/woslo/accounts/%C3%BC");
        assertThat(layout.accountOf(layout.accountKey("a/b c"))).isEqualTo("a/b c");
        assertThat(KeyLayout.DEFAULT_NAMESPACE).isEqualTo("/woslo");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/woslo", "/team/woslo", "/a", "/x-y_z.1"})
    void wellFormedNamespacesAreAccepted(String namespace) {
        assertThat(KeyLayout.validateNamespace(namespace)).isEqualTo(namespace);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "woslo", "/", "/woslo/", "//woslo", "/a//b", "/a b", "/a\tb", "/a\u0001b"})
    void malformedNamespacesAreRefusedWithTheValueInTheMessage(String namespace) {
        assertThatThrownBy(() -> KeyLayout.validateNamespace(namespace))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("namespace")
                .hasMessageContaining("'" + namespace + "'");
    }

    @Test
    void aNullNamespaceIsRefused() {
        assertThatThrownBy(() -> KeyLayout.validateNamespace(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("namespace must not be null");
    }

    @Test
    void nameChecksSayWhatKindOfNameIsWrongAndWhy() {
        assertThat(KeyLayout.requireName("account", "a/b")).isEqualTo("a/b");
        assertThat(KeyLayout.requireName("account", "x".repeat(KeyLayout.MAX_NAME_LENGTH))).hasSize(256);

        assertThatThrownBy(() -> KeyLayout.requireName("account", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("account must not be null");
        assertThatThrownBy(() -> KeyLayout.requireName("resource", ""))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("resource must not be empty");
        assertThatThrownBy(() -> KeyLayout.requireName("lock key", "y".repeat(300)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("lock key must be at most 256 characters, got 300 characters")
                .hasMessageContaining("y".repeat(32));
        assertThatThrownBy(() -> KeyLayout.requireName("lock key", "bad\uD800"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lock key 'bad")
                .hasMessageContaining("surrogate");
        assertThatThrownBy(() -> KeyLayout.requireName("lock key", "\uDC00bad"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("surrogate");
    }
    @Test
    void theConsoleParsesEveryKindOfKeyBackIntoDecodedNames() {
        KeyLayout layout = new KeyLayout("/ns");
        String account = "a/b%<img>";
        assertThat(layout.placeOf(layout.accountKey(account))).isEqualTo(new KeyLayout.Place("account", account, null,
                null));
        assertThat(layout.placeOf(layout.quotaKey(account, "CPU/x"))).isEqualTo(new KeyLayout.Place("quota", account,
                null, null));
        assertThat(layout.counterOf(layout.quotaKey(account, "CPU/x"))).containsExactly(account, "CPU/x");
        String entry = layout.lockEntryKey(KeyLayout.accountLockKey(account), "r-1f-2");
        assertThat(entry).isEqualTo("/ns/locks/quota%2Fa%2Fb%25%3Cimg%3E/r-1f-2");
        assertThat(layout.placeOf(entry)).isEqualTo(new KeyLayout.Place("lock", account, "quota/" + account, null));
        assertThat(layout.placeOf(layout.lockEntryKey("job/1", "w-1-1")))
                .isEqualTo(new KeyLayout.Place("lock", null, "job/1", null));
        assertThat(layout.lockEntryName("job/1", layout.lockEntryKey("job/1", "w-1-1"))).isEqualTo("w-1-1");
        assertThat(layout.placeOf(layout.reservationKey("r1")).kind()).isEqualTo("reservation");
        assertThat(layout.placeOf(layout.idempotencyKey("k")).kind()).isEqualTo("idempotency");
        assertThat(layout.placeOf("/ns2/accounts/a")).isNull();
        assertThat(layout.placeOf("/ns/other/a")).isNull();
        assertThat(layout.counterOf("/ns/quota/a")).isNull();
        assertThat(layout.counterOf("/ns/quota/a%ZZ/CPU")).as("a malformed escape").isNull();
        assertThat(layout.placeOf("/ns/accounts/%G1")).as("a malformed escape").isNull();
        assertThatThrownBy(() -> layout.lockEntryName("job/2", layout.lockEntryKey("job/1", "w-1-1")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("job/2");
    }

    @Test
    void anEntryNameIsOneNonEmptySegment() {
        assertThat(KeyLayout.requireEntryName("r-abc-1")).isEqualTo("r-abc-1");
        assertThatThrownBy(() -> KeyLayout.requireEntryName("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> KeyLayout.requireEntryName("a/b")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'a/b'").hasMessageContaining("'/'");
        assertThatThrownBy(() -> KeyLayout.requireEntryName(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> KeyLayout.requireEntryName("e".repeat(300)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("300");
    }

    @Test
    void aStoredReservationsEntryIsNamedAfterTheUuidOfItsId() {
        String uuid = "0b7d3c5e-1f2a-4b6c-8d9e-0a1b2c3d4e5f";
        KeyLayout layout = new KeyLayout("/woslo");

        assertThat(KeyLayout.reservationEntryName(uuid + ".YWNjdA")).isEqualTo("r-" + uuid);
        assertThat(KeyLayout.reservationEntryName(uuid)).isEqualTo("r-" + uuid);
        assertThat(KeyLayout.reservationEntryName("short")).isEqualTo("r-short");
        assertThat(layout.reservationEntryKey("quota/a/b", uuid + ".YWNjdA"))
                .isEqualTo("/woslo/locks/quota%2Fa%2Fb/r-" + uuid)
                .isEqualTo(layout.lockEntryKey("quota/a/b", "r-" + uuid));
        String entryKey = layout.reservationEntryKey("quota/a/b", uuid);
        assertThat(KeyLayout.isWriteEntry(layout.lockPrefix("quota/a/b"), entryKey)).as("a reader's entry").isFalse();
        assertThat(layout.namespaceRoot()).isEqualTo("/woslo/");
    }
}
