package io.woslo.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A holder whose process dies without unlocking loses the lock when its lease ends. */
@WithEtcd(members = 1)
class CrashedHolderIT extends LockItSupport {
    private static final Duration CHILD_LEASE = Duration.ofSeconds(3);
    /** Room for etcd's lease expiry check (every 500 ms) and the hand-over. */
    private static final Duration MARGIN = TestTimeouts.scaled(Duration.ofSeconds(3));

    @Test
    void aLockHeldByAKilledProcessIsTakenByAnotherClientWithinTheLeaseTime(EtcdCluster etcd, Client client)
            throws Exception {
        Process child = startHolder(etcd, "crashed", 7);
        try {
            long childToken = awaitLockedLine(child);
            assertThat(locks(client).inspect("crashed").holders()).containsExactly(7L);

            child.destroyForcibly(); // SIGKILL: no unlock, no shutdown hook
            assertThat(child.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
            DistributedLock next = locks(client).writeLock("crashed", 8, Duration.ofSeconds(30));

            boolean freedByTheCrashAlone = next.tryLock(Duration.ZERO);
            boolean gotIt = next.tryLock(CHILD_LEASE.plus(MARGIN));

            assertThat(freedByTheCrashAlone).as("the dead holder's key outlives its process until the lease ends")
                    .isFalse();
            assertThat(gotIt).as("taken within lease %s + margin %s", CHILD_LEASE, MARGIN).isTrue();
            assertThat(next.fencingToken()).isGreaterThan(childToken);
            next.unlock();
        } finally {
            child.destroyForcibly();
        }
    }

    private Process startHolder(EtcdCluster etcd, String key, long ownerId) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                LockHolderProcess.class.getName(), etcd.endpointList(), ns, key, Long.toString(ownerId),
                Long.toString(CHILD_LEASE.toMillis())))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
    }

    /** Reads the child's output (its logging included) until the line that reports the lock. */
    private static long awaitLockedLine(Process child) throws Exception {
        CompletableFuture<Long> token = CompletableFuture.supplyAsync(() -> {
            try {
                BufferedReader out = new BufferedReader(
                        new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.startsWith(LockHolderProcess.LOCKED)) {
                        return Long.parseLong(line.substring(LockHolderProcess.LOCKED.length()).trim());
                    }
                }
                throw new IllegalStateException("the lock holder process exited without locking: " + child.exitValue());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        return token.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
    }
}
