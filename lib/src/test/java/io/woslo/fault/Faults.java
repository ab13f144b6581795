package io.woslo.fault;

import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.EtcdMember;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.TestTimeouts;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Fault injection on an {@link EtcdCluster} and the bounds the fault tests state. */
public final class Faults {
    private static final Logger LOG = LoggerFactory.getLogger(Faults.class);

    /**
     * Liveness: once a fault has ended (a leader elected, members back), calls succeed again within this bound, on
     * the same clients. It covers gRPC's reconnect back-off and one operation timeout.
     */
    static final Duration RECOVERY_BOUND = TestTimeouts.scaled(Duration.ofSeconds(10));
    /** Room past a lease's end for etcd's expiry check (every 500 ms) and the hand-over. */
    static final Duration LEASE_EXPIRY_MARGIN = TestTimeouts.scaled(Duration.ofSeconds(3));
    /** Pacing of retries against a recovering cluster. */
    private static final Duration RETRY_PACE = Duration.ofMillis(50);

    private Faults() {
    }

    /** Kills the leader with SIGKILL and returns it, once the others have elected a new one. */
    static EtcdMember killLeader(EtcdCluster etcd, Consumer<String> log) {
        EtcdMember leader = etcd.awaitLeader();
        leader.kill();
        log.accept("killed leader " + leader.name() + " (kill -9)");
        EtcdMember next = etcd.awaitLeader();
        log.accept("new leader " + next.name());
        return leader;
    }

    /** Stops every member (SIGTERM): etcd is unreachable for every client. */
    static void stopAll(EtcdCluster etcd) {
        etcd.members().forEach(EtcdMember::stop);
    }

    /**
     * Starts every stopped member again. They start together, since none is healthy before a quorum is back.
     */
    public static void restartStopped(EtcdCluster etcd) {
        List<CompletableFuture<Void>> starts = etcd.members().stream()
                .filter(member -> !member.isRunning())
                .map(member -> CompletableFuture.runAsync(member::restart))
                .toList();
        try {
            CompletableFuture.allOf(starts.toArray(CompletableFuture[]::new))
                    .get(TestTimeouts.etcdStart().toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot restart the stopped etcd members", e);
        }
        etcd.awaitLeader();
    }

    /**
     * Waits (bounded) until no account lock key ({@code <ns>/locks/quota%2F<account>/...}) is left: other locks of
     * the namespace, such as {@link LockContention}'s, are not the quota's.
     */
    static void awaitNoAccountLocks(RawEtcd raw, Duration lease) {
        Await.until("no account lock key left once the leases of failed releases ran out",
                lease.plus(LEASE_EXPIRY_MARGIN), () -> raw.under("/locks/quota%2F").isEmpty());
    }

    /** A call and how long it took to succeed. */
    record Timed<T>(T value, Duration took) {
    }

    /**
     * Retries {@code call} while it fails as unavailable (each try is bounded by the operation timeout) until it
     * succeeds; fails when {@code bound} passes first. The liveness check of a single call.
     */
    static <T> Timed<T> eventually(String what, Duration bound, java.util.function.Supplier<T> call) {
        long started = System.nanoTime();
        T value = Await.retrying(what, bound, RETRY_PACE, Faults::unavailable, call::get);
        return new Timed<>(value, Duration.ofNanos(System.nanoTime() - started));
    }

    /** A failure a recovering cluster may give before it answers again. */
    private static boolean unavailable(Exception e) {
        return e instanceof io.woslo.quota.QuotaUnavailableException || e instanceof io.woslo.quota.QuotaBusyException
                || e instanceof io.woslo.lock.LockUnavailableException;
    }

    /** A log line of a fault test, on the test's output. */
    static void log(String line) {
        LOG.info(line);
    }
}
