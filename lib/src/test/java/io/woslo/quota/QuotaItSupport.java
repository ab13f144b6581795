package io.woslo.quota;

import io.etcd.jetcd.Client;
import io.woslo.testing.RawEtcd;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * What quota integration tests share: a namespace and an account of their own, raw reads of etcd, and the managers
 * (and other resources) a test opened, closed after it.
 */
abstract class QuotaItSupport {
    protected final String namespace = "/t-" + UUID.randomUUID();
    protected final String account = "acct-" + UUID.randomUUID();
    protected final List<AutoCloseable> closeables = new ArrayList<>();
    protected RawEtcd raw;

    @BeforeEach
    void openRawEtcd(Client client) {
        raw = new RawEtcd(client, namespace);
    }

    @AfterEach
    void closeWhatTheTestOpened() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    /** {@code closeable}, closed after the test. */
    protected <T extends AutoCloseable> T closeLater(T closeable) {
        closeables.add(closeable);
        return closeable;
    }

    /** A manager of one resource, {@code CPUA}, in the test's namespace, closed after the test. */
    protected QuotaManager manager(Client client, UsedQuotaHandler cpu) {
        return closeLater(QuotaManager.builder(client).namespace(namespace).resource("CPUA", cpu).build());
    }
}
