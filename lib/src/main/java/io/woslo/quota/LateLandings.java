package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.VersionedCounter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The undo of late landings: a lane's transaction whose answer did not come in time may still land (jetcd holds
 * calls made while etcd is unreachable and sends them when it is back). Its callers were told it failed, so it is
 * withdrawn in etcd, or, if it landed, its effect is undone: amounts given back, entries (and what attachments
 * wrote) deleted; requests kept when lost ({@link Attachment#keptWhenLost}) stay as they landed. Until that is
 * settled, the lane takes no new batch ({@link Lane#settled}), so nothing in this process observes the phantom.
 */
final class LateLandings {
    private static final Logger LOG = LoggerFactory.getLogger(LateLandings.class);
    /** How often, and how far apart, the settlement of a lost answer is tried before a refresh is left to fix it. */
    private static final int SETTLE_ATTEMPTS = 10;
    private static final Duration SETTLE_PAUSE = Duration.ofMillis(500);
    /** The value of a speculative transaction's sentinel entry written by its withdrawal, never by the transaction. */
    private static final ByteSequence WITHDRAWN = Json.write(Map.of("withdrawn", true));

    private final Lane lane;
    private final String account;
    private final FastReservations.Parts parts;
    private final KV kv;
    private final Duration opTimeout;

    LateLandings(Lane lane, FastReservations.Parts parts) {
        this.lane = lane;
        this.account = lane.account;
        this.parts = parts;
        this.kv = parts.kv();
        this.opTimeout = parts.opTimeout();
    }

    /** A plain transaction whose answer was lost: withdrawn ({@link #withdraw}), or undone if it landed. */
    void settle(CompletableFuture<TxnResponse> txn, List<BatchRequest> fits, List<String> entries, long leaseId,
                CounterView compared, Set<String> resources) {
        lane.forget();
        long failedAt = parts.arithmetic().nowMillis();
        Map<BatchRequest, String> undone = new LinkedHashMap<>();
        for (int i = 0; i < fits.size(); i++) {
            if (!fits.get(i).keptWhenLost()) {
                undone.put(fits.get(i), entries.get(i));
            }
        }
        // Wait for jetcd's own answer a while (it sends a call it held once etcd is back); then settle it in etcd.
        lane.settled = txn.copy().orTimeout(opTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .handle((response, error) -> response)
                .thenCompose(response -> response != null
                        ? CompletableFuture.completedFuture(
                                response.isSucceeded() ? response.getHeader().getRevision() : 0L)
                        : Futures.retry(() -> withdraw(entries.get(0), compared, resources), SETTLE_ATTEMPTS,
                                SETTLE_PAUSE, e -> e instanceof EtcdUnavailableException))
                .thenCompose(revision -> revision == 0
                        ? CompletableFuture.<Void>completedFuture(null)
                        : undo(revision, undone, failedAt, leaseId))
                .exceptionally(e -> {
                    LOG.error("could not settle a late reservation of account '{}'; a refresh will correct its"
                            + " counters: {}", account, Futures.unwrap(e).toString());
                    return null;
                });
    }

    /**
     * Settles a transaction whose answer never came: completes with the revision it landed at (its first entry's
     * create revision), or 0 once it is sure never to land. One guarded transaction tells and settles, on what
     * the lost transaction compared: if every counter still has the mod revision it compared, it has not landed,
     * and the counters are rewritten as they are (a new mod revision), so that it never can. Otherwise its entry
     * tells: present, it landed; absent (its lease may have ended since), etcd's history tells whether the entry
     * existed at the first change of the counters after the view, which is where it would have landed.
     */
    private CompletableFuture<Long> withdraw(String entry, CounterView compared, Set<String> resources) {
        List<Cmp> unchanged = new ArrayList<>();
        List<Op> rewrites = new ArrayList<>();
        for (String resource : resources) {
            VersionedCounter counter = compared.counters().get(resource);
            ByteSequence key = bytes(parts.layout().quotaKey(account, resource));
            unchanged.add(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(counter.modRevision())));
            rewrites.add(Op.put(key, Json.write(counter.counter()), PutOption.DEFAULT));
        }
        CompletableFuture<TxnResponse> txn = kv.txn().If(unchanged.toArray(Cmp[]::new))
                .Then(rewrites.toArray(Op[]::new))
                .Else(Op.get(bytes(entry), GetOption.builder().withKeysOnly(true).build()))
                .commit();
        return Futures.bounded(txn, opTimeout, "the settlement of a reservation of account '" + account + "'")
                .thenCompose(response -> {
                    if (response.isSucceeded()) {
                        return CompletableFuture.completedFuture(0L); // withdrawn: it can never land now
                    }
                    List<KeyValue> landed = response.getGetResponses().get(0).getKvs();
                    if (!landed.isEmpty()) {
                        return CompletableFuture.completedFuture(landed.get(0).getCreateRevision());
                    }
                    // The counters moved and the entry is gone (its lease may have ended): had the transaction
                    // landed, it would have been the first change of its counters after the view it compared,
                    // and its entry would exist at that revision. etcd's history tells.
                    String resource = resources.iterator().next();
                    return AtRevision.firstChangeAfter(parts.watches(), parts.layout().quotaKey(account, resource),
                                    compared.counters().get(resource).modRevision(), opTimeout)
                            .thenCompose(revision -> AtRevision.existed(kv, entry, revision, opTimeout,
                                            "a read of a reservation's entry at revision " + revision)
                                    .thenApply(existed -> existed ? revision : 0L));
                });
    }

    /**
     * A speculative transaction whose answer did not come in time: withdrawn ({@link #withdrawSpeculation}), or,
     * if it landed, the requests whose entries existed at the revision it landed at are undone (those kept when
     * lost stay), as {@link #settle} does for a plain transaction. Until then the lane waits.
     */
    void settleSpeculation(CompletableFuture<TxnResponse> raw, List<BatchRequest> batch,
                           Map<BatchRequest, String> entries, String sentinel, long leaseId, long accountRevision) {
        lane.forget();
        long failedAt = parts.arithmetic().nowMillis();
        lane.settled = raw.copy().orTimeout(opTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .handle((response, error) -> response)
                .thenCompose(response -> response != null
                        ? CompletableFuture.completedFuture(landedAt(response))
                        : Futures.retry(() -> withdrawSpeculation(bytes(sentinel), leaseId, accountRevision),
                                SETTLE_ATTEMPTS, SETTLE_PAUSE, e -> e instanceof EtcdUnavailableException))
                .thenCompose(revision -> revision == 0
                        ? CompletableFuture.<Void>completedFuture(null)
                        : undoLanded(revision, batch, entries, failedAt, leaseId))
                .exceptionally(e -> {
                    if (Futures.isNotFound(e)) {
                        // The batch's lease ended first: the transaction, whose puts need that lease, can no
                        // longer land; had it landed before, its entries ended with the lease and its amounts
                        // stay counted (never too few) until the account's next refresh.
                        LOG.warn("the lease of a late reservation of account '{}' ended before it was settled;"
                                + " if it landed, its amounts stay counted until the next refresh", account);
                    } else {
                        LOG.error("could not settle a late reservation of account '{}'; a refresh will correct"
                                + " its counters: {}", account, Futures.unwrap(e).toString());
                    }
                    return null;
                });
    }

    /**
     * Settles a speculative transaction whose answer never came: completes with the revision it landed at, or 0
     * once it can never land. Every level compares its sentinel (the first request's entry) absent and the
     * account key's mod revision as seen. First the sentinel is created with a mark of its own, unless it is
     * there: then it is the transaction's entry, and the transaction landed when it was created (or it is the
     * mark, left by an earlier attempt whose answer was lost). While the mark stands the transaction cannot land;
     * then the account key is rewritten as it is (as a queuing writer does), which no later write can undo, and
     * the mark deleted in the same transaction. Deleting the mark alone would make the sentinel absent again, and
     * a transaction still held by the client could land on a level whose value the counter reaches later.
     */
    private CompletableFuture<Long> withdrawSpeculation(ByteSequence sentinel, long leaseId, long accountRevision) {
        AccountLock locks = parts.locks();
        ByteSequence accountKey = bytes(parts.layout().accountKey(account));
        String what = "the settlement of a reservation of account '" + account + "'";
        CompletableFuture<TxnResponse> mark = kv.txn()
                .If(new Cmp(sentinel, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                .Then(Op.put(sentinel, WITHDRAWN, PutOption.builder().withLeaseId(leaseId).build()),
                        Op.get(accountKey, GetOption.DEFAULT))
                .Else(Op.get(sentinel, GetOption.DEFAULT), Op.get(accountKey, GetOption.DEFAULT))
                .commit();
        return Futures.bounded(mark, opTimeout, what).thenCompose(marked -> {
            List<GetResponse> gets = marked.getGetResponses();
            if (!marked.isSucceeded() && !gets.get(0).getKvs().get(0).getValue().equals(WITHDRAWN)) {
                return CompletableFuture.completedFuture(gets.get(0).getKvs().get(0).getCreateRevision());
            }
            List<KeyValue> index = gets.get(gets.size() - 1).getKvs();
            long now = index.isEmpty() ? 0 : index.get(0).getModRevision();
            Op unmark = Op.delete(sentinel, DeleteOption.DEFAULT);
            CompletableFuture<TxnResponse> fence = now != accountRevision
                    ? kv.txn().Then(unmark).commit() // the account key moved: the transaction can never land
                    : kv.txn().If(locks.noWriterQueuedSince(account, accountRevision))
                            .Then(locks.keepIndex(account, index.isEmpty() ? null : index.get(0)), unmark)
                            .Else(unmark) // it moved meanwhile: as good
                            .commit();
            return Futures.bounded(fence, opTimeout, what).thenApply(done -> 0L);
        });
    }

    /** The revision a speculative transaction's answer shows it landed at, or 0 when no level held. */
    private static long landedAt(TxnResponse response) {
        TxnResponse at = response;
        while (!at.isSucceeded()) {
            if (at.getTxnResponses().isEmpty()) {
                return 0;
            }
            at = at.getTxnResponses().get(0);
        }
        return response.getHeader().getRevision();
    }

    /** Undoes the requests of a late speculative transaction whose entries existed at {@code revision}. */
    private CompletableFuture<Void> undoLanded(long revision, List<BatchRequest> batch,
                                               Map<BatchRequest, String> entries, long failedAt, long leaseId) {
        List<BatchRequest> undone = batch.stream().filter(r -> !r.keptWhenLost()).toList();
        List<CompletableFuture<Boolean>> existed = undone.stream()
                .map(r -> AtRevision.existed(kv, entries.get(r), revision, opTimeout,
                        "a read of a reservation's entry"))
                .toList();
        return CompletableFuture.allOf(existed.toArray(CompletableFuture[]::new)).thenCompose(v -> {
            Map<BatchRequest, String> landed = new LinkedHashMap<>();
            for (int i = 0; i < undone.size(); i++) {
                if (existed.get(i).join()) {
                    landed.put(undone.get(i), entries.get(undone.get(i)));
                }
            }
            return undo(revision, landed, failedAt, leaseId);
        });
    }

    /**
     * Undoes {@code landed} (requests and their entries, which landed at {@code revision} on {@code leaseId}): their
     * amounts given back, fenced by an entry that landed with them (counters refreshed since the failure already
     * show the truth and are left alone), then what their attachments wrote and their entries deleted.
     */
    private CompletableFuture<Void> undo(long revision, Map<BatchRequest, String> landed, long failedAt, long leaseId) {
        if (landed.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        Map<String, Long> amounts = new LinkedHashMap<>();
        List<Op> undoOps = new ArrayList<>();
        landed.keySet().forEach(request -> {
            request.wanted().forEach((resource, amount) -> amounts.merge(resource, amount, Long::sum));
            if (request.attachment() != null) {
                undoOps.addAll(request.attachment().undo());
            }
        });
        List<String> entries = List.copyOf(landed.values());
        LOG.warn("a reservation of account '{}' reported as failed reached etcd late; undoing it", account);
        AccountLock locks = parts.locks();
        return parts.releases().undoLate(account, amounts, failedAt, locks.readEntry(account, entries.get(0), leaseId,
                        revision))
                .thenCompose(v -> undoOps.isEmpty()
                        ? CompletableFuture.<Void>completedFuture(null)
                        : Futures.bounded(kv.txn().Then(undoOps.toArray(Op[]::new)).commit(), opTimeout,
                                "the undo of a late reservation's records").thenApply(r -> (Void) null))
                .thenCompose(v -> CompletableFuture.allOf(entries.stream()
                        .map(e -> locks.releaseEntry(locks.readEntry(account, e, leaseId, revision)))
                        .toArray(CompletableFuture[]::new)));
    }
}
