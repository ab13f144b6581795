package io.woslo.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The etcd behaviours WOSLO relies on, against three members, and a write that survives losing the leader. */
@WithEtcd(members = 3)
class ThreeMemberEtcdIT extends EtcdContractChecks {

    @Test
    void aWriteSucceedsAfterTheLeaderIsKilled(EtcdCluster etcd) throws Exception {
        EtcdMember leader = etcd.awaitLeader();
        try (Client client = etcd.newClient()) {
            ByteSequence key = bytes(uniqueKey("failover"));
            client.getKVClient().put(key, bytes("before")).get(10, TimeUnit.SECONDS);

            leader.kill();
            int attempts = putUntilAccepted(client, key, bytes("after"));


            EtcdMember newLeader = etcd.awaitLeader();
            assertThat(newLeader).isNotSameAs(leader);
            assertThat(attempts).isPositive();
            assertThat(client.getKVClient().get(key).get(10, TimeUnit.SECONDS).getKvs().get(0).getValue()
                    .toString(java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("after");
        } finally {
            leader.restart();
        }
        assertThat(leader.isRunning()).isTrue();
    }

    /**
     * A put in flight while the leader dies may end in "request timed out" (its outcome unknown) or "leader
     * changed"; a put is idempotent, so it is sent again until one is acknowledged or the step bound passes.
     */
    private static int putUntilAccepted(Client client, ByteSequence key, ByteSequence value) throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        return Await.retrying("a write accepted after leader loss", TestTimeouts.step(),
                e -> e instanceof ExecutionException, () -> {
                    attempts.incrementAndGet();
                    client.getKVClient().put(key, value).get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
                    return attempts.get();
                });
    }
}
