package io.woslo.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The harness ends every etcd process it started. */
class HarnessCleanupIT {

    @Test
    void closeEndsEveryMemberItStarted() {
        EtcdCluster cluster = EtcdCluster.start(3, "cleanup");
        List<Long> pids = cluster.pids();
        assertThat(pids).hasSize(3);
        assertThat(pids).allSatisfy(
                pid -> assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).contains(true));

        cluster.close();

        assertThat(pids).allSatisfy(pid ->
                assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive))
                        .isIn(Optional.empty(), Optional.of(false)));
        assertThat(ProcessHandle.current().children()
                .filter(child -> pids.contains(child.pid()))
                .filter(ProcessHandle::isAlive)
                .count()).isZero();
    }

    @Test
    void aKilledMemberCanBeRestartedAndIsEndedAtClose() {
        try (EtcdCluster cluster = EtcdCluster.start(1, "restart")) {
            EtcdMember member = cluster.member(0);
            long firstPid = cluster.pids().get(0);

            member.kill();
            assertThat(member.isRunning()).isFalse();
            assertThat(ProcessHandle.of(firstPid).map(ProcessHandle::isAlive))
                    .isIn(Optional.empty(), Optional.of(false));

            member.restart();
            assertThat(member.isRunning()).isTrue();
            assertThat(cluster.pids()).hasSize(1).doesNotContain(firstPid);
        }
    }
}
