package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Regression: a user lock named {@code quota/<account>} was that account's quota lock (the quota manager locks
 * {@code "quota/" + account}, stored under {@code <ns>/locks/quota%2F<account>/}), so a user could block or break
 * an account's reservations by accident. Taking such a lock is refused; inspecting it is allowed.
 */
@WithEtcd(members = 1)
class UserLockIsAccountQuotaLockIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Test
    void aUserLockNamedQuotaSlashAccountIsRefused(Client client) throws Exception {
        RwLocks locks = locks(client);

        assertThatThrownBy(() -> locks.writeLock("quota/acme", 1, LEASE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'quota/acme'")
                .hasMessageContaining("reserved");
        assertThatThrownBy(() -> locks.readLock("quota/", 1, LEASE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'quota/'");
        assertThat(rawKeys(client, "quota%2Facme")).isEmpty();
    }

    @Test
    void namesThatOnlyLookAlikeAreStillAllowed(Client client) {
        RwLocks locks = locks(client);
        for (String key : new String[] {"quota", "quotas/acme", "Quota/acme", "my/quota/acme"}) {
            DistributedLock lock = locks.writeLock(key, 1, LEASE);
            lock.lock();
            lock.unlock();
        }
    }

    @Test
    void anAccountsQuotaLockCanBeInspected(Client client) {
        LockInfo info = locks(client).inspect("quota/acme");

        assertThat(info.mode()).isEqualTo(LockMode.NONE);
    }
}
