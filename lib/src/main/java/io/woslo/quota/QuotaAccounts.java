package io.woslo.quota;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.woslo.internal.Counter;
import io.woslo.internal.EtcdUnavailableException;
import io.woslo.internal.Futures;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Read-only views of the accounts a namespace holds, for operators' tools (the coordinator's console): the accounts
 * known (an index entry {@code <ns>/accounts/<account>} or a counter {@code <ns>/quota/<account>/*}) with their
 * cached counters, one account's state, and a watch of every change under the namespace. It reads etcd only; it
 * never calls the handlers and never takes a lock.
 *
 * <pre>{@code
 * QuotaAccounts accounts = new QuotaAccounts(client, "/woslo", Duration.ofSeconds(10));
 * AccountPage first = accounts.listAsync("team-", 200, null).join();
 * AccountPage second = accounts.listAsync("team-", 200, first.next()).join();
 * }</pre>
 */
public final class QuotaAccounts {
    /** The longest page {@link #listAsync} gives. */
    public static final int MAX_PAGE = 1000;
    /** What a counter key holding something WOSLO did not write counts as. */
    private static final Counter NO_COUNTER = new Counter(0, 0, 0);
    /** The page size operators' tools should use when none is asked for. */
    public static final int DEFAULT_PAGE = 200;

    private final Client client;
    private final KeyLayout layout;
    private final Duration timeout;

    /**
     * @param client the etcd client (not closed by this object)
     * @param namespace the namespace, as given to {@link QuotaManager.Builder#namespace(String)}
     * @param operationTimeout the bound on each etcd read
     */
    public QuotaAccounts(Client client, String namespace, Duration operationTimeout) {
        if (client == null) {
            throw new IllegalArgumentException("client must not be null");
        }
        if (operationTimeout == null || operationTimeout.isNegative() || operationTimeout.isZero()) {
            throw new IllegalArgumentException("operationTimeout must be positive, got " + operationTimeout);
        }
        this.client = client;
        this.layout = new KeyLayout(namespace);
        this.timeout = operationTimeout;
    }

    /** The lock key of {@code account}'s quota lock, for {@code RwLocks.describe}: {@code quota/<account>}. */
    public static String lockKey(String account) {
        return KeyLayout.accountLockKey(KeyLayout.requireName("account", account));
    }

    /**
     * One page of the known accounts whose name contains {@code search} (ignoring case; null or empty: all), sorted
     * by name ({@link String#compareTo}), starting after the account {@code after} (null: from the first). Two
     * prefix reads at one revision (the index and every counter), whatever the page.
     *
     * @throws IllegalArgumentException for a {@code limit} outside 1..{@link #MAX_PAGE}, an invalid {@code after}
     *         or a {@code search} longer than an account name can be
     */
    public CompletableFuture<AccountPage> listAsync(String search, int limit, String after) {
        if (limit < 1 || limit > MAX_PAGE) {
            throw new IllegalArgumentException("limit must be between 1 and " + MAX_PAGE + ", got " + limit);
        }
        if (after != null) {
            KeyLayout.requireName("after", after);
        }
        if (search != null && search.length() > KeyLayout.MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("search must be at most " + KeyLayout.MAX_NAME_LENGTH
                    + " characters, got " + search.length());
        }
        String needle = search == null ? "" : search.toLowerCase(Locale.ROOT);
        return mapFailures(readAll().thenApply(all -> {
            List<AccountState> page = new ArrayList<>();
            String next = null;
            for (AccountState state : all.values()) {
                if (after != null && state.account().compareTo(after) <= 0
                        || !state.account().toLowerCase(Locale.ROOT).contains(needle)) {
                    continue;
                }
                if (page.size() == limit) {
                    next = page.get(limit - 1).account();
                    break;
                }
                page.add(state);
            }
            return new AccountPage(page, next);
        }));
    }

    /**
     * What etcd holds for {@code account}, or empty when it has neither an index entry nor a counter.
     *
     * @throws IllegalArgumentException for an invalid account name
     */
    public CompletableFuture<Optional<AccountState>> readAsync(String account) {
        KeyLayout.requireName("account", account);
        CompletableFuture<GetResponse> index = get(layout.accountKey(account), false, 0);
        return mapFailures(index.thenCompose(entry -> get(layout.quotaPrefix(account), true,
                entry.getHeader().getRevision()).thenApply(counters -> {
                    Map<String, AccountState> found = new TreeMap<>();
                    collect(entry, counters, found);
                    return Optional.ofNullable(found.get(account));
                })));
    }

    /**
     * Watches every key of the namespace (one etcd watch) and tells {@code listener} what each change concerns.
     * {@code ready} runs once etcd has confirmed the watch: changes made after it are seen. {@code failed} runs if
     * the watch ends on an error (a compaction, the client closing); nothing is told after it. Listeners run on
     * jetcd's threads and must not block. Closing the returned handle cancels the watch in etcd.
     */
    public AutoCloseable watch(Consumer<NamespaceChange> listener, Runnable ready, Consumer<Throwable> failed) {
        WatchOption option = WatchOption.builder().isPrefix(true).withPrevKV(true).withCreateNotify(true).build();
        Watch.Listener jetcdListener = Watch.listener(response -> deliver(response, listener, ready), failed,
                () -> failed.accept(new IllegalStateException("the watch ended")));
        Watch.Watcher watcher = client.getWatchClient().watch(bytes(layout.namespaceRoot()), option, jetcdListener);
        return watcher::close;
    }

    private void deliver(WatchResponse response, Consumer<NamespaceChange> listener, Runnable ready) {
        if (response.isCreatedNotify()) {
            ready.run();
        }
        for (WatchEvent event : response.getEvents()) {
            NamespaceChange change = changeOf(event);
            if (change != null) {
                listener.accept(change);
            }
        }
    }

    private NamespaceChange changeOf(WatchEvent event) {
        KeyLayout.Place place = layout.placeOf(event.getKeyValue().getKey().toString(UTF_8));
        if (place == null || place.kind().equals("idempotency")) {
            return null;
        }
        if (place.kind().equals("reservation")) {
            KeyValue record = event.getEventType() == WatchEvent.EventType.DELETE ? event.getPrevKV()
                    : event.getKeyValue();
            return new NamespaceChange("reservation", record == null ? null : accountOfRecord(record), null);
        }
        return new NamespaceChange(place.kind(), place.account(), place.lock());
    }

    private static String accountOfRecord(KeyValue record) {
        StoredRecord.Listed listed = valueOf(record, StoredRecord.Listed.class, null);
        return listed == null ? null : listed.account();
    }

    /** A value read as {@code type}, or {@code fallback} for one WOSLO did not write (not that shape). */
    private static <T> T valueOf(KeyValue kv, Class<T> type, T fallback) {
        try {
            return Json.read(kv.getValue(), type);
        } catch (RuntimeException notOurs) {
            return fallback;
        }
    }

    /** Every known account, by name: the index and the counters, read at one revision. */
    private CompletableFuture<Map<String, AccountState>> readAll() {
        return get(layout.accountsPrefix(), true, 0).thenCompose(index ->
                get(layout.quotaRoot(), true, index.getHeader().getRevision()).thenApply(counters -> {
                    Map<String, AccountState> out = new TreeMap<>();
                    collect(index, counters, out);
                    return out;
                }));
    }

    private void collect(GetResponse index, GetResponse counters, Map<String, AccountState> out) {
        Map<String, Long> refreshed = new HashMap<>();
        Map<String, Map<String, CachedCounter>> resources = new HashMap<>();
        for (KeyValue kv : index.getKvs()) {
            KeyLayout.Place place = layout.placeOf(kv.getKey().toString(UTF_8));
            if (place == null || !place.kind().equals("account")) {
                continue; // not written by WOSLO
            }
            String account = place.account();
            refreshed.put(account, json(kv).path("refreshedAt").asLong(0));
            resources.computeIfAbsent(account, a -> new TreeMap<>());
        }
        for (KeyValue kv : counters.getKvs()) {
            String[] place = layout.counterOf(kv.getKey().toString(UTF_8));
            if (place != null) {
                Counter counter = valueOf(kv, Counter.class, NO_COUNTER);
                resources.computeIfAbsent(place[0], a -> new TreeMap<>()).put(place[1],
                        new CachedCounter(counter.used(), counter.quota(), counter.refreshedAt()));
            }
        }
        resources.forEach((account, counterMap) ->
                out.put(account, new AccountState(account, refreshed.get(account), counterMap)));
    }

    private static JsonNode json(KeyValue kv) {
        try {
            return Json.MAPPER.readTree(kv.getValue().getBytes());
        } catch (java.io.IOException | RuntimeException e) {
            return com.fasterxml.jackson.databind.node.MissingNode.getInstance(); // not written by WOSLO
        }
    }

    private CompletableFuture<GetResponse> get(String key, boolean prefix, long revision) {
        GetOption.Builder option = GetOption.builder().isPrefix(prefix);
        if (revision > 0) {
            option.withRevision(revision);
        }
        return Futures.bounded(client.getKVClient().get(bytes(key), option.build()), timeout, "a read of " + key);
    }

    private static <T> CompletableFuture<T> mapFailures(CompletableFuture<T> future) {
        return future.exceptionallyCompose(error -> {
            Throwable cause = Futures.unwrap(error);
            return CompletableFuture.failedFuture(cause instanceof EtcdUnavailableException
                    ? new QuotaUnavailableException(cause.getMessage(), cause) : cause);
        });
    }

    private static ByteSequence bytes(String key) {
        return ByteSequence.from(key, UTF_8);
    }
}
