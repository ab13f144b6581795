package io.woslo.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcd.jetcd.ByteSequence;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The names and values of lock queue entries, as etcd holds them: an etcd written by an earlier version must be
 * read the same way. No etcd needed.
 */
class LockEntryFormatTest {
    private final KeyLayout layout = new KeyLayout("/woslo");

    @Test
    void entryKeysNameTheModeTheLeaseInHexTheTagAndACount() {
        String read = layout.newLockEntryKey("quota/acme", LockPolicy.READ, 0x1f);
        String write = layout.newLockEntryKey("jobs", LockPolicy.WRITE, 255, "abc.");

        assertThat(read).matches("/woslo/locks/quota%2Facme/r-1f-[0-9]+");
        assertThat(write).matches("/woslo/locks/jobs/w-ff-abc\\.[0-9]+");
    }

    @Test
    void everyNewEntryKeyIsDistinct() {
        String first = layout.newLockEntryKey("k", LockPolicy.READ, 7, "");
        String second = layout.newLockEntryKey("k", LockPolicy.READ, 7, "");

        assertThat(first).isNotEqualTo(second);
    }

    @Test
    void onlyEntriesNamedRDashAreReaders() {
        String prefix = layout.lockPrefix("k");

        assertThat(KeyLayout.isWriteEntry(prefix, prefix + "r-1f-3")).isFalse();
        assertThat(KeyLayout.isWriteEntry(prefix, prefix + "r-3f2504e0-4f89-11d3")).isFalse(); // an HTTP reservation's
        assertThat(KeyLayout.isWriteEntry(prefix, prefix + "w-1f-3")).isTrue();
    }

    @Test
    void anEntryNotNamedByWosloCountsAsAWriter() {
        String prefix = layout.lockPrefix("k");

        assertThat(KeyLayout.isWriteEntry(prefix, prefix + "by-hand")).isTrue();
        assertThat(KeyLayout.isWriteEntry(prefix, prefix + "R-1")).isTrue();
        assertThat(KeyLayout.isWriteEntry(prefix, prefix)).isTrue();
    }

    @Test
    void theModeIsReadAfterThePrefixNotInTheLockName() {
        String prefix = layout.lockPrefix("r-");

        assertThat(prefix).isEqualTo("/woslo/locks/r-/");
        assertThat(KeyLayout.isWriteEntry(prefix, prefix + "w-1-1")).isTrue();
    }

    @Test
    void writersPrefixIsWhereWriteEntriesLive() {
        String write = layout.newLockEntryKey("a/b", LockPolicy.WRITE, 1, "");
        String read = layout.newLockEntryKey("a/b", LockPolicy.READ, 1, "");

        assertThat(layout.lockWritersPrefix("a/b")).isEqualTo("/woslo/locks/a%2Fb/w-");
        assertThat(write).startsWith(layout.lockWritersPrefix("a/b"));
        assertThat(read).doesNotStartWith(layout.lockWritersPrefix("a/b"));
    }

    @Test
    void aTagMarksTheEntriesOfItsMakerOnly() {
        String mine = layout.newLockEntryKey("k", LockPolicy.WRITE, 0xab, "5e.");
        String shared = layout.newLockEntryKey("k", LockPolicy.READ, 0xab, "");

        assertThat(KeyLayout.isTaggedEntry(mine, "5e.")).isTrue();
        assertThat(KeyLayout.isTaggedEntry(shared, "5e.")).isFalse();
        assertThat(KeyLayout.isTaggedEntry(mine, "6e.")).isFalse();
    }

    @Test
    void aQueuedEntrysValueNamesOwnerModeHolderAndLeaseSeconds() throws Exception {
        ByteSequence value = LockEntryValue.of(LockPolicy.WRITE, 42, Duration.ofMillis(90_500));

        JsonNode json = Json.MAPPER.readTree(value.getBytes());
        assertThat(json.path("owner").asLong()).isEqualTo(42);
        assertThat(json.path("mode").asText()).isEqualTo("write");
        assertThat(json.path("holder").asText()).isNotEmpty();
        assertThat(json.path("leaseSeconds").asLong()).isEqualTo(90);
        assertThat(LockEntryValue.ownerOf(value)).isEqualTo(42);
    }

    @Test
    void aValueWithoutAnOwnerReadsAsOwnerZero() {
        ByteSequence touched = LockEntryValue.touched(LockPolicy.READ, "write-1");
        ByteSequence byHand = ByteSequence.from("not json", StandardCharsets.UTF_8);

        assertThat(LockEntryValue.ownerOf(touched)).isZero();
        assertThat(LockEntryValue.ownerOf(byHand)).isZero();
    }

    @Test
    void aTouchedValueIsTheSameBytesEveryTime() {
        // A fenced write's settlement compares the entry's value with this: it must not depend on map order.
        ByteSequence value = LockEntryValue.touched(LockPolicy.WRITE, "w-7");

        assertThat(value.toString(StandardCharsets.UTF_8)).isEqualTo("{\"holder\":\"" + LockEntryValue.HOLDER
                + "\",\"lastWrite\":\"w-7\",\"mode\":\"write\"}");
        assertThat(new Fence("/woslo/locks/k/w-1-1", 3, 1, true).touchValue("w-7")).isEqualTo(value);
    }
}
