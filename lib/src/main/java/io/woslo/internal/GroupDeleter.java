package io.woslo.internal;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.KV;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Deletes keys with group commit: while one delete transaction is in flight, the keys asked for meanwhile wait and
 * go together in the next one. One key alone costs one round trip; many concurrent releases share one raft write.
 * Each caller's future completes when etcd has answered for its key: {@code true} if the key was there.
 */
final class GroupDeleter {
    /** etcd refuses transactions of more than 128 operations by default. */
    private static final int MAX_KEYS_PER_TXN = 128;

    private final KV kv;
    private final Duration opTimeout;
    private final List<Pending> waiting = new ArrayList<>();
    private boolean inFlight;

    private record Pending(String key, CompletableFuture<Boolean> done) {
    }

    GroupDeleter(KV kv, Duration opTimeout) {
        this.kv = kv;
        this.opTimeout = opTimeout;
    }

    CompletableFuture<Boolean> delete(String key) {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        List<Pending> batch;
        synchronized (this) {
            waiting.add(new Pending(key, done));
            if (inFlight) {
                return done;
            }
            inFlight = true;
            batch = takeBatch();
        }
        send(batch);
        return done;
    }

    private List<Pending> takeBatch() {
        int n = Math.min(waiting.size(), MAX_KEYS_PER_TXN);
        List<Pending> batch = new ArrayList<>(waiting.subList(0, n));
        waiting.subList(0, n).clear();
        return batch;
    }

    private void send(List<Pending> batch) {
        Op[] deletes = batch.stream().map(p -> Op.delete(bytes(p.key()), DeleteOption.DEFAULT)).toArray(Op[]::new);
        Futures.bounded(kv.txn().Then(deletes).commit(), opTimeout, "the release of " + batch.size() + " lock entries")
                .whenComplete((response, error) -> {
                    for (int i = 0; i < batch.size(); i++) {
                        if (error != null) {
                            batch.get(i).done().completeExceptionally(error);
                        } else {
                            batch.get(i).done().complete(response.getDeleteResponses().get(i).getDeleted() > 0);
                        }
                    }
                    List<Pending> next;
                    synchronized (this) {
                        if (waiting.isEmpty()) {
                            inFlight = false;
                            return;
                        }
                        next = takeBatch();
                    }
                    send(next);
                });
    }
}
