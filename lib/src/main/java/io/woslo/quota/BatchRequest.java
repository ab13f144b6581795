package io.woslo.quota;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.kv.GetResponse;
import java.util.ArrayList;
import java.util.List;
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

    /**
     * The requests of {@code batch} to plan again after a failed transaction: all but those (among {@code fits},
     * whose attachments' reads {@code reads} holds in order) whose own attachment failed; those are answered
     * with its failure.
     */
    static List<BatchRequest> withoutFailedAttachments(List<BatchRequest> batch, List<BatchRequest> fits,
                                                       List<GetResponse> reads) {
        List<BatchRequest> again = new ArrayList<>(batch);
        int at = 0;
        for (BatchRequest request : fits) {
            Attachment attachment = request.attachment();
            if (attachment == null) {
                continue;
            }
            int n = attachment.reads().size();
            RuntimeException failure = attachment.failure(reads.subList(at, at + n));
            at += n;
            if (failure != null) {
                request.result().completeExceptionally(failure);
                again.remove(request);
            }
        }
        return again;
    }
}
