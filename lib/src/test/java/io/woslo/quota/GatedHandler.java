package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.TestTimeouts;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A handler that, once gated, blocks every call until opened: a database that is busy for as long as a test wants. */
public final class GatedHandler implements UsedQuotaHandler {
    private final MutableHandler figures;
    private volatile CountDownLatch gate = new CountDownLatch(0);
    private volatile CountDownLatch called = new CountDownLatch(1);

    public GatedHandler(long used, long quota) {
        this.figures = new MutableHandler(used, quota);
    }

    void gate() {
        called = new CountDownLatch(1);
        gate = new CountDownLatch(1);
    }

    void open() {
        gate.countDown();
    }

    void awaitCalled() throws InterruptedException {
        assertThat(called.await(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).as("handler called").isTrue();
    }

    private void pass() throws InterruptedException {
        called.countDown();
        gate.await();
    }

    @Override
    public long queryUsed(String account) throws InterruptedException {
        pass();
        return figures.queryUsed(account);
    }

    @Override
    public long queryQuota(String account) throws InterruptedException {
        pass();
        return figures.queryQuota(account);
    }
}
