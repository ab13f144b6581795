package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Invalid input is refused with an {@link IllegalArgumentException} whose message names the bad value, before
 * anything is written to etcd.
 */
@WithEtcd(members = 1)
class LockArgumentsIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Test
    void aNullOrEmptyOrOverlongKeyIsRefused(Client client) {
        RwLocks locks = locks(client);

        assertThatThrownBy(() -> locks.writeLock(null, 1, LEASE))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("lock key must not be null");
        assertThatThrownBy(() -> locks.readLock("", 1, LEASE))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("lock key must not be empty");
        assertThatThrownBy(() -> locks.inspect(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("lock key must not be null");
        assertThatThrownBy(() -> locks.writeLock("k".repeat(257), 1, LEASE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("257 characters");
    }

    @Test
    void aNullZeroOrNegativeLeaseTimeIsRefused(Client client) {
        RwLocks locks = locks(client);

        assertThatThrownBy(() -> locks.writeLock("lease", 1, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("leaseTime must not be null");
        assertThatThrownBy(() -> locks.writeLock("lease", 1, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaseTime")
                .hasMessageContaining("PT0S");
        assertThatThrownBy(() -> locks.readLock("lease", 1, Duration.ofSeconds(-5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaseTime")
                .hasMessageContaining("PT-5S");
    }

    @Test
    void aNullOrNegativeWaitIsRefusedAndLeavesNoKey(Client client) throws Exception {
        DistributedLock lock = locks(client).writeLock("wait", 1, LEASE);

        assertThatThrownBy(() -> lock.tryLock(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("wait must not be null");
        assertThatThrownBy(() -> lock.tryLock(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("wait")
                .hasMessageContaining("PT-0.001S");
        assertThatThrownBy(() -> lock.tryLockAsync(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PT-1S");

        assertThat(lock.isHeld()).isFalse();
        assertThat(rawKeys(client, "wait")).isEmpty();
    }

    @Test
    void builderSettingsAreCheckedWhenSet(Client client) {
        assertThatThrownBy(() -> RwLocks.builder(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("client");
        RwLocks.Builder builder = RwLocks.builder(client);
        assertThatThrownBy(() -> builder.namespace("woslo"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'woslo'");
        assertThatThrownBy(() -> builder.namespace(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("namespace");
        assertThatThrownBy(() -> builder.operationTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("operationTimeout")
                .hasMessageContaining("PT0S");
        assertThatThrownBy(() -> builder.operationTimeout(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("operationTimeout");
    }

    @Test
    void theDefaultNamespaceIsWoslo(Client client) {
        try (RwLocks locks = RwLocks.builder(client).build()) {
            assertThat(locks.namespace()).isEqualTo("/woslo");
        }
    }
}
