package io.woslo.fault;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.woslo.quota.MutableHandler;
import io.woslo.quota.QuotaManager;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.EtcdMember;
import io.woslo.testing.RawEtcd;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** SIGSTOP/SIGCONT faults: an etcd member frozen, a client JVM frozen longer than its lease (a GC pause). */
@WithEtcd(members = 3)
class PauseIT {
    private static final Duration CHILD_LEASE = Duration.ofSeconds(3);

    private final String namespace = "/pause-" + UUID.randomUUID();
    private EtcdCluster etcd;

    @AfterEach
    void thaw() {
        if (etcd != null) {
            etcd.members().forEach(EtcdMember::resume);
        }
    }

    @Test
    void aFrozenMemberAnswersNothingUntilResumedWhileTheOthersServe(EtcdCluster etcd, Client observer)
            throws Exception {
        this.etcd = etcd;
        EtcdMember frozen = etcd.awaitLeader() == etcd.member(0) ? etcd.member(1) : etcd.member(0);
        Client pinned = etcd.newClientOn(frozen);
        ByteSequence key = ByteSequence.from(namespace + "/k", UTF_8);
        pinned.getKVClient().put(key, ByteSequence.from("1", UTF_8)).get();

        frozen.pause();

        assertThat(frozen.isPaused()).isTrue();
        assertThatThrownBy(() -> pinned.getKVClient().get(key).get(2, TimeUnit.SECONDS))
                .isInstanceOf(TimeoutException.class);
        observer.getKVClient().put(key, ByteSequence.from("2", UTF_8))
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        frozen.resume();
        Faults.eventually("a read on the thawed member", Faults.RECOVERY_BOUND, () -> {
            try {
                return pinned.getKVClient().get(key).get(2, TimeUnit.SECONDS).getKvs().get(0).getValue()
                        .toString(UTF_8);
            } catch (Exception e) {
                throw new io.woslo.quota.QuotaUnavailableException("not yet: " + e, e);
            }
        });
        assertThat(pinned.getKVClient().get(key).get().getKvs().get(0).getValue().toString(UTF_8)).isEqualTo("2");
    }

    @Test
    void aClientJvmFrozenPastItsLeaseLosesItsReadLockAndARefreshRunsMeanwhile(EtcdCluster etcd) throws Exception {
        this.etcd = etcd;
        String account = "frozen";
        MutableHandler truth = new MutableHandler(QuotaStorm.START_USED, QuotaStorm.QUOTA);
        RawEtcd raw = new RawEtcd(etcd.newClient(), namespace);
        try (QuotaManager quota = QuotaStorm.manager(etcd.newClient(), namespace, CHILD_LEASE,
                QuotaStorm.OPERATION_TIMEOUT, truth);
             ChildJvm child = ChildJvm.start(QuotaHolderProcess.class, etcd.endpointList(), namespace, account,
                     "reserve", "3", Long.toString(CHILD_LEASE.toMillis()))) {
            quota.refresh(account, true);
            child.awaitLine(QuotaHolderProcess.RESERVED);
            assertThat(raw.locks()).hasSize(1);

            child.pause(); // a stop-the-world pause longer than the lease
            Faults.Timed<?> refreshed = Faults.eventually("a refresh while the reader is frozen",
                    CHILD_LEASE.plus(Faults.LEASE_EXPIRY_MARGIN), () -> quota.refresh(account, true));
            Faults.log("refresh took the write lock " + refreshed.took().toMillis() + " ms into the pause");
            assertThat(raw.used(account, "CPU")).as("the frozen reservation is gone from the counter")
                    .isEqualTo(truth.used.get());
            child.resume();
            assertThat(raw.locks()).as("the thawed holder's lock is not back").isEmpty();
        }
    }
}
