package io.woslo.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The registry of one engine's own entries: live, let go, or someone else's. No etcd needed. */
class OwnEntriesTest {
    private final KeyLayout layout = new KeyLayout("/woslo");

    @Test
    void aRegisteredEntryIsLiveUntilLetGo() {
        OwnEntries own = new OwnEntries(layout);
        String entry = own.register("k", LockPolicy.WRITE, 0x10);

        CompletableFuture<Void> released = own.released(entry);
        assertThat(released).isNotNull().isNotDone();
        assertThat(own.isGone(entry)).isFalse();

        own.gone(entry);

        assertThat(released).isCompleted();
        assertThat(own.isGone(entry)).isTrue();
        assertThat(own.released(entry)).isNull();
    }

    @Test
    void entriesNotMadeByThisRegistryAreNeverKnownGoneOrReleasedByIt() {
        OwnEntries own = new OwnEntries(layout);
        OwnEntries other = new OwnEntries(layout);
        String theirs = other.register("k", LockPolicy.READ, 0x10);
        String shared = layout.newLockEntryKey("k", LockPolicy.READ, 0x10);

        assertThat(own.isGone(theirs)).isFalse();
        assertThat(own.isGone(shared)).isFalse();
        assertThat(own.isGone(layout.lockPrefix("k") + "by-hand")).isFalse();
        assertThat(own.released(theirs)).isNull();
    }

    @Test
    void entryKeysAreInTheLocksQueueAndNamedForTheirMode() {
        OwnEntries own = new OwnEntries(layout);
        String prefix = layout.lockPrefix("a/b");

        String read = own.register("a/b", LockPolicy.READ, 1);
        String write = own.register("a/b", LockPolicy.WRITE, 1);

        assertThat(read).startsWith(prefix);
        assertThat(KeyLayout.isWriteEntry(prefix, read)).isFalse();
        assertThat(KeyLayout.isWriteEntry(prefix, write)).isTrue();
    }

    @Test
    void lettingGoTwiceOrLettingGoNothingIsHarmless() {
        OwnEntries own = new OwnEntries(layout);
        String entry = own.register("k", LockPolicy.READ, 2);

        own.gone(entry);
        own.gone(entry);
        own.gone(null);
        own.gone("/woslo/locks/k/unknown");

        assertThat(own.isGone(entry)).isTrue();
    }
}
