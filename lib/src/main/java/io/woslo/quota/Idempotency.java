package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.CounterStore;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.LeasePool;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Idempotency records: {@code <ns>/idempotency/<key>} holds {@code {"fingerprint","outcome"}}, the first outcome of
 * the change sent with that key, on a lease of the idempotency window.
 *
 * <p>A change sent with a key carries a {@link Claim}: its transaction compares the key absent and writes the
 * record, so the record exists if and only if the change was applied, and of two attempts with one key (a retry
 * racing the original, two duplicates, the original landing late) at most one can commit. An attempt whose claim
 * fails finds the record in its else branch and answers the stored outcome ({@link Done#replay}), or refuses a key
 * reused with another request. Leases are pooled: one grant serves the claims of a minute.
 */
final class Idempotency {
    /** How long one lease of the pool serves new claims; a record lives at most this much past its window. */
    static final Duration POOL_WINDOW = Duration.ofMinutes(1);

    private final KeyLayout layout;
    private final LeasePool leases;

    Idempotency(Client client, KeyLayout layout, Duration window, Duration opTimeout) {
        this.layout = layout;
        this.leases = new LeasePool(client.getLeaseClient(), window, POOL_WINDOW, opTimeout);
    }

    /** The stored form. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Stored(String fingerprint, JsonNode outcome) {
    }

    /** A claim of {@code key} for a change whose outcome is {@code outcome}; null when there is no key. */
    CompletableFuture<Claim> claim(IdempotencyKey key, Object outcome) {
        if (key == null) {
            return CompletableFuture.completedFuture(null);
        }
        ByteSequence value = Json.write(new Stored(key.fingerprint(), Json.MAPPER.valueToTree(outcome)));
        return leases.lease().thenApply(lease -> new Claim(key, bytes(layout.idempotencyKey(key.key())), value, lease));
    }

    /** A read of {@code key}'s record, for an else branch or a look before a change. */
    Op read(IdempotencyKey key) {
        return Op.get(bytes(layout.idempotencyKey(key.key())), GetOption.DEFAULT);
    }

    /** The key's record as read by {@link #read}: a {@link Done} when the key was used before, else null. */
    static Done done(IdempotencyKey key, List<KeyValue> seen) {
        return seen.isEmpty() ? null : new Done(key, Json.read(seen.get(0).getValue(), Stored.class));
    }

    /**
     * {@code work}, answering the stored outcome instead when it found its key used before (or failing with
     * {@link IdempotencyKeyReusedException} when that was for another request).
     */
    static <T> CompletableFuture<T> replayed(CompletableFuture<T> work, Function<JsonNode, T> decode) {
        return work.exceptionallyCompose(error -> Futures.unwrap(error) instanceof Done done
                ? done.replay(decode)
                : CompletableFuture.failedFuture(error));
    }

    /** One change's hold on a key: compared absent, written with the change. */
    static final class Claim {
        private final IdempotencyKey key;
        private final ByteSequence etcdKey;
        private final ByteSequence value;
        private final long leaseId;

        Claim(IdempotencyKey key, ByteSequence etcdKey, ByteSequence value, long leaseId) {
            this.key = key;
            this.etcdKey = etcdKey;
            this.value = value;
            this.leaseId = leaseId;
        }

        /** The key in etcd this claim writes. */
        ByteSequence etcdKey() {
            return etcdKey;
        }

        Cmp compare() {
            return new Cmp(etcdKey, Cmp.Op.EQUAL, CmpTarget.createRevision(0));
        }

        Op write() {
            return Op.put(etcdKey, value, PutOption.builder().withLeaseId(leaseId).build());
        }

        Op read() {
            return Op.get(etcdKey, GetOption.DEFAULT);
        }

        /** The failure when the key was taken, judged on what {@link #read()} returned; null when it is free. */
        RuntimeException failure(List<KeyValue> seen) {
            return done(key, seen);
        }

        /**
         * Whether a change carrying this claim (or a duplicate of it, which has the same outcome) was applied,
         * judged on what {@link #read()} returned.
         */
        boolean applied(List<KeyValue> seen) {
            Done done = done(key, seen);
            return done != null && done.sameRequest();
        }

        /** The claim as one more guarded change of a counter update. */
        CounterStore.Also also() {
            return new CounterStore.Also(compare(), write(), read(), List::isEmpty, this::failure);
        }
    }

    /** The key was used before: its first outcome. Not an error a caller sees; it becomes the answer. */
    static final class Done extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient IdempotencyKey key;
        private final transient Stored stored;

        Done(IdempotencyKey key, Stored stored) {
            super("idempotency key '" + key.key() + "' was used before", null, false, false);
            this.key = key;
            this.stored = stored;
        }

        boolean sameRequest() {
            return key.fingerprint().equals(stored.fingerprint());
        }

        <T> CompletableFuture<T> replay(Function<JsonNode, T> decode) {
            if (!sameRequest()) {
                return CompletableFuture.failedFuture(new IdempotencyKeyReusedException(key.key()));
            }
            return CompletableFuture.completedFuture(decode.apply(stored.outcome()));
        }
    }
}
