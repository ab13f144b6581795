package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.CounterStore;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Reservations kept in etcd by id: the record sits on the lease of the account read lock the reservation holds.
 *
 * <p>Ending one (finish or rollback) first deletes the record in a transaction that compares its create revision,
 * so of two processes racing to end the same reservation exactly one wins; the winner then gives back the amounts
 * (for a rollback; the read lock still stands, so no refresh can interleave) and revokes the lease, which frees the
 * lock.
 */
final class StoredReservations {
    private static final String NOOP_PREFIX = "noop-";

    private final QuotaManager manager;
    private final KV kv;
    private final Lease leases;
    private final KeyLayout layout;
    private final Duration opTimeout;
    private final Duration leaseTime;

    StoredReservations(QuotaManager manager, io.etcd.jetcd.Client client, KeyLayout layout, Duration opTimeout,
                       Duration leaseTime) {
        this.manager = manager;
        this.kv = client.getKVClient();
        this.leases = client.getLeaseClient();
        this.layout = layout;
        this.opTimeout = opTimeout;
        this.leaseTime = leaseTime;
    }

    /**
     * The stored form: {@code {"account","resources","reservedAt","expiresAt","lease","entry","entryRevision"}}; the
     * last two name the read-lock entry that fences the reservation's rollback.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Stored(String account, Map<String, Long> resources, long reservedAt, long expiresAt, long lease,
                  String entry, long entryRevision) {
    }

    CompletableFuture<StoredReservation> create(String account, Map<String, Long> wanted, boolean noop) {
        if (noop) {
            return CompletableFuture.completedFuture(new StoredReservation(noopId(), account, Map.of(), 0, 0));
        }
        String id = UUID.randomUUID().toString();
        return manager.reserve(account, wanted, true).thenCompose(reserved -> {
            long expiresAt = reserved.reservedAtMillis() + leaseTime.toMillis();
            Stored stored = new Stored(account, reserved.amounts(), reserved.reservedAtMillis(), expiresAt,
                    reserved.lock().leaseId(), reserved.lock().entryKey(), reserved.lock().revision());
            CompletableFuture<StoredReservation> written = Futures.bounded(kv.put(key(id), Json.write(stored),
                                    PutOption.builder().withLeaseId(reserved.lock().leaseId()).build()), opTimeout,
                            "the record of reservation " + id)
                    .thenApply(put -> new StoredReservation(id, account, reserved.amounts(),
                            reserved.reservedAtMillis(), expiresAt));
            // Without its record nobody could end the reservation: give the amounts back and free the lock.
            return written.exceptionallyCompose(error -> manager
                    .release(account, reserved.amounts(), Long.MAX_VALUE, reserved.lock(), false, Call.unbounded(),
                            "rollback of an unrecorded reservation")
                    .handle((v, e) -> null)
                    .thenCompose(v -> manager.unlock(reserved.lock()))
                    .thenCompose(v -> CompletableFuture.failedFuture(error)));
        });
    }

    CompletableFuture<Optional<StoredReservation>> find(String id) {
        if (id.startsWith(NOOP_PREFIX)) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        return Futures.bounded(kv.get(key(id)), opTimeout, "a read of reservation " + id).thenApply(got -> {
            if (got.getKvs().isEmpty()) {
                return Optional.empty();
            }
            Stored stored = Json.read(got.getKvs().get(0).getValue(), Stored.class);
            return Optional.of(new StoredReservation(id, stored.account(), stored.resources(), stored.reservedAt(),
                    stored.expiresAt()));
        });
    }

    /** Ends a reservation, giving its amounts back when {@code rollback}. False when it is unknown or ended. */
    CompletableFuture<Boolean> end(String id, boolean rollback, Call call) {
        if (id.startsWith(NOOP_PREFIX)) {
            return CompletableFuture.completedFuture(isNoopId(id));
        }
        ByteSequence key = key(id);
        return Futures.bounded(kv.get(key), opTimeout, "a read of reservation " + id).thenCompose(got -> {
            if (got.getKvs().isEmpty()) {
                return CompletableFuture.completedFuture(false);
            }
            KeyValue record = got.getKvs().get(0);
            Stored stored = Json.read(record.getValue(), Stored.class);
            if (rollback && stored.entry() != null) {
                return rollBack(id, record, stored, call);
            }
            if (!call.beginWrite()) {
                return CompletableFuture.failedFuture(Call.abandonedBeforeWriting("the end of reservation " + id));
            }
            return Futures.bounded(kv.txn()
                            .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(record.getCreateRevision())))
                            .Then(Op.delete(key, DeleteOption.DEFAULT))
                            .commit(), opTimeout, "the end of reservation " + id)
                    .thenCompose(txn -> {
                        if (!txn.isSucceeded()) {
                            return CompletableFuture.completedFuture(false);
                        }
                        CompletableFuture<Void> givenBack = rollback // a record written before entries were kept
                                ? manager.release(stored.account(), stored.resources(), Long.MAX_VALUE, null,
                                        false, call, "rollback")
                                : CompletableFuture.completedFuture(null);
                        return givenBack.thenCompose(v -> revoke(stored.lease())).thenApply(v -> true);
                    });
        });
    }

    /**
     * Gives the amounts back and deletes the record in ONE transaction, fenced by the reservation's read lock and
     * guarded by the record's create revision: of two processes rolling one reservation back, exactly one gives back,
     * and a rollback that is "not applied" left the record in place, so it can be retried.
     */
    private CompletableFuture<Boolean> rollBack(String id, KeyValue record, Stored stored, Call call) {
        ByteSequence key = key(id);
        CounterStore.Also deleteRecord = new CounterStore.Also(
                new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(record.getCreateRevision())),
                Op.delete(key, DeleteOption.DEFAULT),
                Op.get(key, io.etcd.jetcd.options.GetOption.builder().withKeysOnly(true).build()),
                kvs -> !kvs.isEmpty() && kvs.get(0).getCreateRevision() == record.getCreateRevision(),
                EndedElsewhere::new);
        return manager.release(stored.account(), stored.resources(), Long.MAX_VALUE, lockOf(stored), false, call,
                        deleteRecord, "the rollback of reservation " + id)
                .thenCompose(v -> revoke(stored.lease()).thenApply(r -> true))
                .exceptionally(error -> {
                    if (Futures.unwrap(error) instanceof EndedElsewhere) {
                        return false;
                    }
                    throw new java.util.concurrent.CompletionException(Futures.unwrap(error));
                });
    }

    /** The record was deleted by another process ending the same reservation: this one changed nothing. */
    private static final class EndedElsewhere extends RuntimeException {
        private static final long serialVersionUID = 1L;

        EndedElsewhere() {
            super("the reservation was ended elsewhere", null, false, false);
        }
    }

    /** The reservation's read lock, to fence its rollback; null for a record written before entries were kept. */
    private static io.woslo.internal.Acquisition lockOf(Stored stored) {
        return stored.entry() == null ? null : new io.woslo.internal.Acquisition(null, stored.entry(), false,
                stored.lease(), stored.entryRevision(), null, true);
    }

    /**
     * An id for a reservation that changed nothing (quota off, nothing asked): nothing is stored for it, so the id
     * carries a check of its own, and only ids this code issued end "successfully".
     */
    static String noopId() {
        String uuid = UUID.randomUUID().toString();
        return NOOP_PREFIX + uuid + "-" + noopCheck(uuid);
    }

    static boolean isNoopId(String id) {
        String rest = id.substring(NOOP_PREFIX.length());
        int dash = rest.lastIndexOf('-');
        return dash > 0 && rest.substring(dash + 1).equals(noopCheck(rest.substring(0, dash)));
    }

    private static String noopCheck(String uuid) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(("woslo-noop:" + uuid).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return String.format("%08x", crc.getValue());
    }

    private CompletableFuture<Void> revoke(long lease) {
        return Futures.bounded(leases.revoke(lease), opTimeout, "the release of a reservation's lock")
                .handle((r, error) -> {
                    if (error != null && !Futures.isNotFound(error)) {
                        throw new java.util.concurrent.CompletionException(Futures.unwrap(error));
                    }
                    return null;
                });
    }

    private ByteSequence key(String id) {
        return bytes(layout.reservationKey(id));
    }

    static String requireId(String id) {
        return KeyLayout.requireName("reservation id", id);
    }

    /**
     * The open reservations of {@code account}, oldest first: one bounded read of every record under
     * {@code <ns>/reservations/}, filtered here (there is no index by account). Only the record's public fields are
     * read, so records of any internal format are listed; one that cannot be read is skipped.
     */
    CompletableFuture<java.util.List<StoredReservation>> list(String account) {
        String prefix = layout.reservationsPrefix();
        return Futures.bounded(kv.get(bytes(prefix), io.etcd.jetcd.options.GetOption.builder().isPrefix(true).build()),
                opTimeout, "a read of the open reservations").thenApply(got -> {
                    java.util.List<StoredReservation> out = new java.util.ArrayList<>();
                    for (KeyValue record : got.getKvs()) {
                        String id = KeyLayout.unescape(Json.string(record.getKey()).substring(prefix.length()));
                        Listed listed;
                        try {
                            listed = Json.read(record.getValue(), Listed.class);
                        } catch (RuntimeException e) {
                            LISTING_LOG.warn("skipping the unreadable record of reservation {}: {}", id,
                                    e.getMessage());
                            continue;
                        }
                        if (account.equals(listed.account())) {
                            out.add(new StoredReservation(id, listed.account(),
                                    listed.resources() == null ? Map.of() : listed.resources(), listed.reservedAt(),
                                    listed.expiresAt()));
                        }
                    }
                    out.sort(java.util.Comparator.comparingLong(StoredReservation::reservedAtMillis)
                            .thenComparing(StoredReservation::id));
                    return out;
                });
    }

    /** The public fields of a stored record, whatever else it holds. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Listed(String account, Map<String, Long> resources, long reservedAt, long expiresAt) {
    }

    private static final org.slf4j.Logger LISTING_LOG = org.slf4j.LoggerFactory.getLogger(StoredReservations.class);
}
