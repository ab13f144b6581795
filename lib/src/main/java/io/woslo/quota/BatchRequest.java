package io.woslo.quota;

import io.etcd.jetcd.ByteSequence;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One reservation queued in a {@link Lane}: what it wants, where its outcome goes ({@code null} hands it to the slow
 * path), and what it adds to its transaction ({@code attachment}, may be null).
 */
record BatchRequest(Map<String, Long> wanted, CompletableFuture<Reserved> result, Attachment attachment) {
    /** Operations of the then branch: the lock entry and what the attachment writes. */
    int weight() {
        return 1 + (attachment == null ? 0 : attachment.size());
    }

    boolean keptWhenLost() {
        return attachment != null && attachment.keptWhenLost();
    }

    Set<ByteSequence> claimed() {
        return attachment == null ? Set.of() : attachment.claimed();
    }
}
