package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.DeleteOption;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * Regression: a lost lock went unnoticed. In keep-alive mode {@link DistributedLock#isHeld()} stayed true after the
 * lease was gone, and nothing told a holder that its hold had ended. {@link DistributedLock#lost()} now completes
 * when the hold is known lost and is cancelled by the unlock that releases it; {@code isHeld()} agrees with it.
 */
@WithEtcd(members = 1)
class LostLockUnnoticedIT extends LockItSupport {
    private static final Duration LONG_LEASE = Duration.ofSeconds(60);
    /** etcd's minimum TTL with default settings; the shortest lease a test can wait out. */
    private static final Duration SHORT_LEASE = Duration.ofSeconds(2);

    @Test
    void aKeptAliveLockWhoseLeaseIsRevokedFromOutsideIsReportedLostAndNoLongerHeld(Client client) throws Exception {
        DistributedLock lock = locks(client, b -> b.keepAlive(true)).writeLock("kept", 1, SHORT_LEASE);
        lock.lock();
        CompletableFuture<Void> lost = lock.lost();
        assertThat(lock.isHeld()).isTrue();

        revokeLeaseOf(client, "kept");

        await(lost);
        assertThat(lock.isHeld()).isFalse();
        assertThat(lock.lost()).as("a later call sees the loss at once").isCompleted();
        lock.unlock(); // a no-op in etcd, with a warning
        assertThat(lost).isNotCancelled();
    }

    @Test
    void aKeptAliveLockRevokedBeforeAnyoneAskedIsReportedLostWhenAsked(Client client) throws Exception {
        DistributedLock lock = locks(client, b -> b.keepAlive(true)).writeLock("kept-late", 1, SHORT_LEASE);
        lock.lock();

        revokeLeaseOf(client, "kept-late");

        await(lock.lost());
        assertThat(lock.isHeld()).isFalse();
        lock.unlock();
    }

    @Test
    void anEntryDeletedByHandIsReportedLostAndTheLockCanBeTakenAgain(Client client) throws Exception {
        DistributedLock lock = locks(client).writeLock("by-hand", 1, LONG_LEASE);
        lock.lock();
        CompletableFuture<Void> lost = lock.lost();

        KeyValue entry = rawEntries(client, "by-hand").get(0);
        await(client.getKVClient().delete(entry.getKey(), DeleteOption.DEFAULT));

        await(lost);
        assertThat(lock.isHeld()).isFalse();

        lock.lock(); // a new hold, not a count on the lost one
        assertThat(lock.isHeld()).isTrue();
        assertThat(lock.lost()).isNotDone();
        assertThat(rawKeys(client, "by-hand")).hasSize(1).doesNotContain(entry.getKey().toString());
        lock.unlock();
        lock.unlock(); // the lost hold
        assertThat(rawKeys(client, "by-hand")).isEmpty();
    }

    @Test
    void aLeaseThatRunsOutWithoutKeepAliveIsReportedLost(Client client) throws Exception {
        DistributedLock lock = locks(client).writeLock("runs-out", 1, SHORT_LEASE);
        lock.lock();
        CompletableFuture<Void> lost = lock.lost();
        assertThat(lost).isNotDone();

        await(lost); // the lease time passes: that is the behaviour under test

        assertThat(lock.isHeld()).isFalse();
        lock.unlock();
    }

    @Test
    void unlockCancelsLostAndOnlyTheLastCountDoes(Client client) throws Exception {
        DistributedLock lock = locks(client).writeLock("unlocked", 1, LONG_LEASE);
        lock.lock();
        lock.lock();
        CompletableFuture<Void> lost = lock.lost();

        lock.unlock();
        assertThat(lost).as("one count is still held").isNotDone();
        assertThat(lock.isHeld()).isTrue();

        lock.unlock();
        assertThat(lost).isCancelled();
        assertThat(lock.isHeld()).isFalse();
        assertThat(rawKeys(client, "unlocked")).isEmpty();
    }

    @Test
    void lostOnAHandleThatHoldsNothingFailsWithIllegalStateException(Client client) {
        DistributedLock lock = locks(client).readLock("nothing", 1, LONG_LEASE);

        assertThatThrownBy(() -> lock.lost().get())
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'nothing'");
    }

    private void revokeLeaseOf(Client client, String escapedKey) throws Exception {
        KeyValue entry = rawEntries(client, escapedKey).get(0);
        await(client.getLeaseClient().revoke(entry.getLease()));
    }
}
