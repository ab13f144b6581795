package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.DeleteOption;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link RwLocks.Builder#meterRegistry}: grants, waits (by how they ended) and losses are counted against real etcd,
 * each by mode, and every series exists from the start.
 */
@WithEtcd(members = 1)
class LockMetricsIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(60);

    @Test
    void grantsWaitsAndLossesAreCountedByMode(Client client) throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        RwLocks locks = locks(client, b -> b.meterRegistry(registry));
        assertThat(count(registry, "woslo.lock.losses", "write")).as("registered before any event").isZero();
        assertThat(waits(registry, "read", "granted")).isZero();

        DistributedLock holder = locks.writeLock("metered", 1, LEASE);
        holder.lock();
        assertThat(count(registry, "woslo.lock.acquisitions", "write")).isEqualTo(1);
        assertThat(waits(registry, "write", "granted")).as("a free lock is no wait").isZero();

        DistributedLock reader = locks.readLock("metered", 2, LEASE);
        assertThat(reader.tryLock(Duration.ofMillis(100))).isFalse();
        assertThat(waits(registry, "read", "timeout")).isEqualTo(1);
        assertThat(count(registry, "woslo.lock.acquisitions", "read")).isZero();

        CompletableFuture<Void> granted = reader.lockAsync();
        awaitWaiting(locks, "metered", 1);
        holder.unlock();
        await(granted);
        assertThat(waits(registry, "read", "granted")).isEqualTo(1);
        assertThat(registry.get("woslo.lock.waits").tag("mode", "read").tag("outcome", "granted").timer()
                .totalTime(TimeUnit.NANOSECONDS)).as("the wait's time").isPositive();
        assertThat(count(registry, "woslo.lock.acquisitions", "read")).isEqualTo(1);

        CompletableFuture<Void> lost = reader.lost();
        KeyValue entry = rawEntries(client, "metered").get(0);
        await(client.getKVClient().delete(entry.getKey(), DeleteOption.DEFAULT));
        await(lost);
        assertThat(count(registry, "woslo.lock.losses", "read")).isEqualTo(1);
        assertThat(count(registry, "woslo.lock.losses", "write")).as("the released write lock was not lost").isZero();
        reader.unlock();
    }

    private static double count(SimpleMeterRegistry registry, String name, String mode) {
        return registry.get(name).tag("mode", mode).counter().count();
    }

    private static long waits(SimpleMeterRegistry registry, String mode, String outcome) {
        return registry.get("woslo.lock.waits").tag("mode", mode).tag("outcome", outcome).timer().count();
    }
}
