package io.woslo.fault;

import io.woslo.testing.EtcdCluster;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;

/**
 * What the cluster fault tests share: a fresh namespace, and every member they stopped started again after each
 * test (a test sets {@link #etcd} to its cluster first), so that a failed test leaves no member down for the next.
 */
abstract class FaultItSupport {
    protected final String namespace = "/fault-" + UUID.randomUUID();
    protected EtcdCluster etcd;

    @AfterEach
    void everyMemberBack() {
        if (etcd != null) {
            Faults.restartStopped(etcd);
        }
    }
}
