package io.woslo.lock;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A {@code lock()} that times out and a {@code tryLock} that returns false leave nothing behind in etcd: when they
 * return, the caller's queue entry is already gone (read back with plain jetcd, not through the library).
 */
@WithEtcd(members = 1)
class TimeoutAndTryLockIT extends LockItSupport {
    private static final Duration LONG_LEASE = Duration.ofSeconds(30);

    @Test
    void aTimedOutLockThrowsAndLeavesOnlyTheHoldersKey(EtcdCluster etcd, Client client) throws Exception {
        DistributedLock holder = locks(etcd.newClient()).writeLock("busy", 1, LONG_LEASE);
        holder.lock();
        DistributedLock late = locks(etcd.newClient()).writeLock("busy", 2, Duration.ofSeconds(2));

        long started = System.nanoTime();
        assertThatThrownBy(late::lock)
                .isInstanceOf(LockTimeoutException.class)
                .hasMessageContaining("busy")
                .satisfies(e -> assertThat(((LockTimeoutException) e).waited()).isEqualTo(Duration.ofSeconds(2)));
        Duration waited = Duration.ofNanos(System.nanoTime() - started);
        List<KeyValue> left = rawEntries(client, "busy");

        assertThat(waited).isGreaterThanOrEqualTo(Duration.ofSeconds(2));
        assertThat(left).singleElement()
                .satisfies(kv -> assertThat(kv.getValue().toString(UTF_8)).contains("\"owner\":1"));
        assertThat(late.isHeld()).isFalse();
        assertThat(holder.isHeld()).isTrue();
    }

    @Test
    void aTryLockThatReturnsFalseLeavesOnlyTheHoldersKey(EtcdCluster etcd, Client client) throws Exception {
        DistributedLock holder = locks(etcd.newClient()).readLock("read-held", 1, LONG_LEASE);
        holder.lock();
        DistributedLock writer = locks(etcd.newClient()).writeLock("read-held", 2, LONG_LEASE);

        boolean gotIt = writer.tryLock(Duration.ofMillis(500));
        List<KeyValue> left = rawEntries(client, "read-held");

        assertThat(gotIt).isFalse();
        assertThat(left).singleElement()
                .satisfies(kv -> assertThat(kv.getValue().toString(UTF_8)).contains("\"owner\":1"));
    }

    @Test
    void tryLockWithZeroWaitTakesAFreeLockAndRefusesAHeldOneWithoutAKeyLeft(EtcdCluster etcd, Client client)
            throws Exception {
        DistributedLock first = locks(etcd.newClient()).writeLock("zero", 1, LONG_LEASE);
        DistributedLock second = locks(etcd.newClient()).writeLock("zero", 2, LONG_LEASE);
        DistributedLock reader = locks(etcd.newClient()).readLock("zero", 3, LONG_LEASE);

        boolean firstGotIt = first.tryLock(Duration.ZERO);
        boolean secondGotIt = second.tryLock(Duration.ZERO);
        boolean readerGotIt = reader.tryLock(Duration.ZERO);
        List<KeyValue> left = rawEntries(client, "zero");

        assertThat(firstGotIt).isTrue();
        assertThat(first.isHeld()).isTrue();
        assertThat(secondGotIt).isFalse();
        assertThat(readerGotIt).isFalse();
        assertThat(left).hasSize(1);

        first.unlock();
        assertThat(second.tryLock(Duration.ZERO)).as("free again after unlock").isTrue();
        second.unlock();
        assertThat(rawEntries(client, "zero")).isEmpty();
    }

    /** Repeated, because a removal still in flight when the call returns shows only now and then. */
    @Test
    void aRefusedTryLockHasRemovedItsKeyByTheTimeItReturnsEveryTime(EtcdCluster etcd, Client client) throws Exception {
        locks(etcd.newClient()).writeLock("repeat", 1, LONG_LEASE).lock();
        DistributedLock late = locks(etcd.newClient()).readLock("repeat", 2, LONG_LEASE);

        for (int attempt = 0; attempt < 40; attempt++) {
            Duration wait = attempt % 2 == 0 ? Duration.ZERO : Duration.ofMillis(20);
            boolean gotIt = late.tryLock(wait);
            List<String> left = rawKeys(client, "repeat");

            assertThat(gotIt).isFalse();
            assertThat(left).as("keys after refused tryLock(%s), attempt %d", wait, attempt).hasSize(1);
        }
    }

    @Test
    void aVeryShortWaitOnAFreeLockTakesItRatherThanReportingEtcdUnavailable(Client client) throws Exception {
        DistributedLock lock = locks(client).writeLock("short-wait", 1, LONG_LEASE);

        boolean gotIt = lock.tryLock(Duration.ofMillis(1));

        assertThat(gotIt).isTrue();
        assertThat(rawEntries(client, "short-wait")).hasSize(1);
        lock.unlock();
        assertThat(rawEntries(client, "short-wait")).isEmpty();
    }

    @Test
    void aVeryShortWaitOnAHeldLockReturnsFalseWithNoKeyLeft(EtcdCluster etcd, Client client) throws Exception {
        locks(etcd.newClient()).writeLock("short-held", 1, LONG_LEASE).lock();
        DistributedLock late = locks(etcd.newClient()).writeLock("short-held", 2, LONG_LEASE);

        boolean gotIt = late.tryLock(Duration.ofMillis(1));

        assertThat(gotIt).isFalse();
        assertThat(rawEntries(client, "short-held")).hasSize(1);
    }
}
