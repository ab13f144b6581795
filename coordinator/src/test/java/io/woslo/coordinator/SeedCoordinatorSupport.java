package io.woslo.coordinator;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * A coordinator with the seed's resources ({@link TestCoordinators#SEED_RESOURCES}) started once for the test class
 * on a fresh namespace, an HTTP client to it and a plain jetcd client of the test's etcd. Subclasses are
 * {@code @WithEtcd} with one test instance per class.
 */
abstract class SeedCoordinatorSupport {
    protected final String namespace;
    protected Coordinator coordinator;
    protected Http http;
    protected Client raw;

    SeedCoordinatorSupport(String label) {
        this.namespace = TestCoordinators.freshNamespace(label);
    }

    @BeforeAll
    void start(EtcdCluster etcd, Client client) {
        coordinator = TestCoordinators.start(etcd, namespace, null, TestCoordinators.SEED_RESOURCES);
        http = new Http(coordinator.baseUrl());
        raw = client;
    }

    @AfterAll
    void stop() {
        coordinator.close();
    }
}
