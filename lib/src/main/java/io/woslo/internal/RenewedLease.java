package io.woslo.internal;

import io.etcd.jetcd.Lease;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keep-alive of one lock entry's lease (keep-alive mode). On a stream error jetcd retries by itself, but when no
 * renewal is answered within one TTL (an election slower than the lease, a partition) it drops the keep-alive for
 * good and completes its observers, although etcd restarts every lease's time when a new leader takes over. So when
 * jetcd gives up, the keep-alive is opened again, until it is closed (release) or etcd says the lease is gone
 * ({@link #gone()}: the lock was lost).
 */
final class RenewedLease implements CloseableClient, StreamObserver<LeaseKeepAliveResponse> {
    // Logs as LockEngine, as before the engine was split, so that operators' log filters keep working.
    private static final Logger LOG = LoggerFactory.getLogger(LockEngine.class);
    private static final Duration RETRY_PAUSE = Duration.ofMillis(200);

    private final Lease leases;
    private final ScheduledExecutorService timer;
    private final String lockKey;
    private final long leaseId;
    private final CompletableFuture<Void> gone = new CompletableFuture<>();
    private volatile CloseableClient stream;
    private volatile boolean closed;

    private RenewedLease(Lease leases, ScheduledExecutorService timer, String lockKey, long leaseId) {
        this.leases = leases;
        this.timer = timer;
        this.lockKey = lockKey;
        this.leaseId = leaseId;
    }

    /** Starts renewing {@code leaseId}, the lease of an entry of lock {@code lockKey}. */
    static RenewedLease start(Lease leases, ScheduledExecutorService timer, String lockKey, long leaseId) {
        RenewedLease renewed = new RenewedLease(leases, timer, lockKey, leaseId);
        renewed.open();
        return renewed;
    }

    /** Completes when etcd answers that the lease is gone (keep-alive NOT_FOUND, or a TTL of zero). */
    CompletableFuture<Void> gone() {
        return gone;
    }

    private synchronized void open() {
        if (!closed) {
            stream = leases.keepAlive(leaseId, this);
        }
    }

    @Override
    public void onNext(LeaseKeepAliveResponse response) {
        // renewed
    }

    @Override
    public void onError(Throwable error) {
        if (closed) {
            return;
        }
        if (Futures.isNotFound(error)) {
            LOG.debug("keep-alive of lock '{}': lease {} not found", lockKey, Long.toHexString(leaseId));
            gone.complete(null);
        } else {
            LOG.debug("keep-alive of lock '{}' (lease {}) interrupted, jetcd retries: {}", lockKey,
                    Long.toHexString(leaseId), error.toString());
        }
    }

    @Override
    public void onCompleted() {
        if (closed) {
            return;
        }
        LOG.info("keep-alive of lock '{}' (lease {}) got no answer for a lease time; renewing it again",
                lockKey, Long.toHexString(leaseId));
        try {
            timer.schedule(this::open, RETRY_PAUSE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException engineClosed) {
            LOG.warn("keep-alive of lock '{}' stops: its lock engine is closed; the lock ends with its lease",
                    lockKey);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        CloseableClient current = stream;
        if (current != null) {
            current.close();
        }
    }
}
