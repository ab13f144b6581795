package io.woslo.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.PutOption;
import io.woslo.lock.DistributedLock;
import io.woslo.lock.RwLocks;
import io.woslo.quota.QuotaKeys;
import io.woslo.testing.Await;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.net.URLEncoder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The console's read endpoints and its force-release over HTTP against a real etcd, with the seed's resources (CPUA
 * 10 of 20, CPUB 0 of 20, CPUC 18 of 20, CPUD 20 of 20): {@code GET /v1/accounts} (paging and search at 1,000
 * accounts), {@code GET /v1/accounts/{account}}, {@code GET /v1/locks/{key}} and
 * {@code DELETE /v1/locks/{key}/entries/{entry}} (with a real waiting writer), and names that must round-trip.
 */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleApiIT {
    private static final Duration LEASE = Duration.ofSeconds(30);
    private final String namespace = TestCoordinators.freshNamespace("console");
    private Coordinator coordinator;
    private Http http;
    private Client raw;
    private RwLocks locks;

    @BeforeAll
    void start(EtcdCluster etcd, Client client) {
        coordinator = TestCoordinators.start(etcd, namespace, null, TestCoordinators.SEED_RESOURCES);
        http = new Http(coordinator.baseUrl());
        raw = client;
        locks = RwLocks.builder(client).namespace(namespace).build();
    }

    @AfterAll
    void stop() {
        locks.close();
        coordinator.close();
    }

    @Test
    void theAccountListIsSortedPagedAndSearchedAtAThousandAccounts() {
        String prefix = "many-" + UUID.randomUUID().toString().substring(0, 8) + "-";
        List<String> names = new ArrayList<>();
        List<Op> ops = new ArrayList<>();
        for (int i = 999; i >= 0; i--) {
            String account = prefix + String.format("%04d", i);
            names.add(account);
            ops.add(put(QuotaKeys.account(namespace, account), "{\"refreshedAt\":" + (1_700_000_000_000L + i) + "}"));
            ops.add(put(QuotaKeys.counter(namespace, account, "CPUA"),
                    "{\"used\":" + (i % 25) + ",\"quota\":20,\"refreshedAt\":1700000000000}"));
            if (ops.size() >= 100) {
                commit(ops);
            }
        }
        commit(ops);
        names.sort(String::compareTo);
        Map<String, String> before = TestCoordinators.snapshot(raw, namespace);

        JsonNode all = ok(http.get("/v1/accounts?search=" + prefix + "&limit=1000"));
        assertThat(fieldNames(all)).containsExactly("accounts", "next");
        assertThat(names(all)).isEqualTo(names);
        assertThat(all.get("next").isNull()).isTrue();
        JsonNode first = all.get("accounts").get(0);
        assertThat(fieldNames(first)).containsExactly("account", "refreshedAt", "resources", "overQuota");
        assertThat(first.toString()).isEqualTo("{\"account\":\"" + prefix + "0000\",\"refreshedAt\":1700000000000,"
                + "\"resources\":{\"CPUA\":{\"used\":0,\"quota\":20}},\"overQuota\":false}");
        assertThat(all.get("accounts").get(21).get("overQuota").asBoolean()).as("used 21 of 20").isTrue();
        assertThat(all.get("accounts").get(20).get("overQuota").asBoolean()).as("used 20 of 20").isFalse();

        JsonNode defaultPage = ok(http.get("/v1/accounts?search=" + prefix));
        assertThat(names(defaultPage)).isEqualTo(names.subList(0, 200));
        assertThat(defaultPage.get("next").asText()).isEqualTo(names.get(199));

        List<String> paged = new ArrayList<>();
        String after = null;
        int pages = 0;
        do {
            JsonNode page = ok(http.get("/v1/accounts?limit=300&search=" + prefix.toUpperCase()
                    + (after == null ? "" : "&after=" + after)));
            paged.addAll(names(page));
            after = page.get("next").isNull() ? null : page.get("next").asText();
            pages++;
        } while (after != null);
        assertThat(pages).isEqualTo(4);
        assertThat(paged).as("every account once, in order, searched ignoring case").isEqualTo(names);

        assertThat(names(ok(http.get("/v1/accounts?limit=1000&search=" + prefix + "00"))))
                .isEqualTo(names.subList(0, 100));
        assertThat(names(ok(http.get("/v1/accounts?search=nothing-is-named-like-this-" + UUID.randomUUID()))))
                .isEmpty();

        assertBadRequest(http.get("/v1/accounts?limit=0"), "'0'");
        assertBadRequest(http.get("/v1/accounts?limit=1001"), "'1001'");
        assertBadRequest(http.get("/v1/accounts?limit=ten"), "'ten'");
        assertBadRequest(http.get("/v1/accounts?limit=5&limit=6"), "limit");
        assertBadRequest(http.get("/v1/accounts?after="), "after");
        assertThat(TestCoordinators.snapshot(raw, namespace)).as("reads and refusals change nothing")
                .isEqualTo(before);
    }

    @Test
    void anAccountWithOnlyCountersOrOnlyAnIndexEntryIsListedAndShown() {
        String countersOnly = "partial-" + UUID.randomUUID();
        String indexOnly = "partial-" + UUID.randomUUID();
        commit(new ArrayList<>(List.of(
                put(QuotaKeys.counter(namespace, countersOnly, "CPUB"), "{\"used\":3,\"quota\":20,\"refreshedAt\":5}"),
                put(QuotaKeys.account(namespace, indexOnly), "{\"refreshedAt\":7}"))));

        JsonNode list = ok(http.get("/v1/accounts?search=partial-&limit=1000"));
        Map<String, JsonNode> byName = new TreeMap<>();
        list.get("accounts").forEach(a -> byName.put(a.get("account").asText(), a));
        assertThat(byName.get(countersOnly).get("refreshedAt").isNull()).isTrue();
        assertThat(byName.get(countersOnly).get("resources").toString())
                .isEqualTo("{\"CPUB\":{\"used\":3,\"quota\":20}}");
        assertThat(byName.get(indexOnly).get("resources").toString()).isEqualTo("{}");

        JsonNode one = ok(http.get("/v1/accounts/" + countersOnly));
        assertThat(one.get("refreshedAt").isNull()).isTrue();
        assertThat(one.get("resources").toString()).isEqualTo(
                "[{\"resource\":\"CPUB\",\"used\":3,\"quota\":20,\"refreshedAt\":5}]");
        assertThat(ok(http.get("/v1/accounts/" + indexOnly)).get("refreshedAt").asLong()).isEqualTo(7);
    }

    @Test
    void theAccountViewShowsAReservationMadeOverHttpAndTheAccountLocksHolder() {
        String account = "view-" + UUID.randomUUID();
        Http.Response made = http.postJson("/v1/reservations",
                "{\"account\":\"" + account + "\",\"resources\":{\"CPUA\":2}}");
        assertThat(made.status()).as(made.toString()).isEqualTo(201);
        String id = made.json().get("id").asText();

        JsonNode view = ok(http.get("/v1/accounts/" + account));
        assertThat(fieldNames(view)).containsExactly("account", "refreshedAt", "resources", "reservations", "lock");
        assertThat(view.get("account").asText()).isEqualTo(account);
        JsonNode cpua = row(view, "CPUA");
        assertThat(fieldNames(cpua)).containsExactly("resource", "used", "quota", "refreshedAt");
        assertThat(cpua.get("used").asLong()).as("10 from the source, 2 reserved").isEqualTo(12);
        assertThat(cpua.get("quota").asLong()).isEqualTo(20);
        assertThat(view.get("reservations")).hasSize(1);
        assertThat(view.get("reservations").get(0)).isEqualTo(http.get("/v1/reservations/" + id).json());

        JsonNode lock = view.get("lock");
        assertThat(lock.get("key").asText()).isEqualTo("quota/" + account);
        assertThat(lock.get("mode").asText()).isEqualTo("read");
        assertThat(lock.get("waiters")).isEmpty();
        assertThat(lock.get("holders")).hasSize(1);
        JsonNode holder = lock.get("holders").get(0);
        assertThat(fieldNames(holder)).containsExactly("entry", "mode", "owner", "revision", "leaseId",
                "leaseLeftSeconds");
        assertThat(holder.get("entry").asText()).startsWith("r-");
        assertThat(holder.get("mode").asText()).isEqualTo("read");
        assertThat(holder.get("revision").asLong()).isPositive();
        assertThat(holder.get("leaseLeftSeconds").asLong()).isBetween(1L, 30L);
        JsonNode direct = ok(http.get("/v1/locks/" + encode("quota/" + account)));
        assertThat(withoutLeaseLeft(direct)).as("the account's lock as GET /v1/locks shows it")
                .isEqualTo(withoutLeaseLeft(lock));

        JsonNode checked = ok(http.get("/v1/accounts/" + account + "?check=true"));
        JsonNode checkedCpua = row(checked, "CPUA");
        assertThat(fieldNames(checkedCpua)).containsExactly("resource", "used", "quota", "refreshedAt", "source",
                "mismatch");
        assertThat(checkedCpua.get("source").toString()).isEqualTo("{\"used\":10,\"quota\":20,\"error\":null}");
        assertThat(checkedCpua.get("mismatch").asBoolean()).as("2 reserved in flight").isTrue();

        assertThat(http.post("/v1/reservations/" + id + "/rollback").status()).isEqualTo(204);
        JsonNode after = ok(http.get("/v1/accounts/" + account + "?check=true"));
        assertThat(after.get("reservations")).isEmpty();
        assertThat(after.get("lock").toString()).isEqualTo("{\"key\":\"quota/" + account
                + "\",\"mode\":\"none\",\"holders\":[],\"waiters\":[]}");
        assertThat(row(after, "CPUA").get("used").asLong()).isEqualTo(10);
        assertThat(row(after, "CPUA").get("mismatch").asBoolean()).isFalse();
    }

    @Test
    void aCheckTellsAFailingSourceFromAMismatchAndShowsAResourceWithoutACounter(EtcdCluster etcd) throws Exception {
        int closed;
        try (java.net.ServerSocket socket =
                     new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        String otherNamespace = TestCoordinators.freshNamespace("console-check");
        Coordinator checking = TestCoordinators.start(etcd, otherNamespace, null, """
                CPUA: { source: static, used: 10, quota: 20 }
                CPUB: { source: static, used: 0, quota: 20 }
                DOWN: { source: http, usedUrl: "http://127.0.0.1:%1$d/u?account={account}", \
                quotaUrl: "http://127.0.0.1:%1$d/q?account={account}", timeout: 1s }
                """.formatted(closed));
        try {
            String account = "check-" + UUID.randomUUID();
            commit(new ArrayList<>(List.of(
                    put(QuotaKeys.counter(otherNamespace, account, "CPUA"),
                            "{\"used\":7,\"quota\":20,\"refreshedAt\":5}"),
                    put(QuotaKeys.counter(otherNamespace, account, "DOWN"),
                            "{\"used\":1,\"quota\":2,\"refreshedAt\":5}"))));

            JsonNode view = ok(new Http(checking.baseUrl()).get("/v1/accounts/" + account + "?check=true"));

            assertThat(row(view, "CPUA").toString()).isEqualTo("{\"resource\":\"CPUA\",\"used\":7,\"quota\":20,"
                    + "\"refreshedAt\":5,\"source\":{\"used\":10,\"quota\":20,\"error\":null},\"mismatch\":true}");
            assertThat(row(view, "CPUB").toString()).as("a configured resource without a counter")
                    .isEqualTo("{\"resource\":\"CPUB\",\"used\":null,\"quota\":null,\"refreshedAt\":null,"
                            + "\"source\":{\"used\":0,\"quota\":20,\"error\":null},\"mismatch\":true}");
            JsonNode down = row(view, "DOWN");
            assertThat(down.get("source").get("used").isNull()).isTrue();
            assertThat(down.get("source").get("quota").isNull()).isTrue();
            assertThat(down.get("source").get("error").asText()).as("the source's failure").isNotBlank()
                    .doesNotStartWith("cache differs");
            assertThat(down.get("mismatch").asBoolean()).isTrue();
            assertThat(down.get("used").asLong()).isEqualTo(1);
        } finally {
            checking.close();
        }
    }

    @Test
    void anUnknownAccountIs404AndABadCheckIs400() {
        Http.Response unknown = http.get("/v1/accounts/nobody-" + UUID.randomUUID());
        assertThat(unknown.status()).as(unknown.toString()).isEqualTo(404);
        assertThat(unknown.json().get("error").asText()).isEqualTo("unknown_account");
        assertThat(unknown.json().get("message").asText()).contains("nobody-");
        assertBadRequest(http.get("/v1/accounts/someone?check=yes"), "'yes'");
        assertBadRequest(http.get("/v1/accounts/" + "x".repeat(300)), "256");
    }

    @Test
    void aLockNobodyHoldsIs200WithModeNone() {
        String key = "free-" + UUID.randomUUID();
        assertThat(ok(http.get("/v1/locks/" + key)).toString())
                .isEqualTo("{\"key\":\"" + key + "\",\"mode\":\"none\",\"holders\":[],\"waiters\":[]}");
    }

    @Test
    void theLockViewListsHoldersAndWaitersInOrderAndAForceReleaseHandsTheLockToTheWaitingWriter() throws Exception {
        String key = "job/" + UUID.randomUUID() + "%";
        String path = "/v1/locks/" + encode(key);
        DistributedLock reader1 = locks.readLock(key, 1, LEASE);
        DistributedLock reader2 = locks.readLock(key, 2, LEASE);
        reader1.lock();
        reader2.lock();
        DistributedLock writer = locks.writeLock(key, 3, LEASE);
        CompletableFuture<Boolean> writing = writer.tryLockAsync(TestTimeouts.step());
        Await.until("the writer queued", () -> ok(http.get(path)).get("waiters").size() == 1);
        DistributedLock reader4 = locks.readLock(key, 4, LEASE);
        CompletableFuture<Boolean> reading = reader4.tryLockAsync(TestTimeouts.step());
        Await.until("the late reader queued", () -> ok(http.get(path)).get("waiters").size() == 2);

        JsonNode lock = ok(http.get(path));
        assertThat(lock.get("key").asText()).isEqualTo(key);
        assertThat(lock.get("mode").asText()).isEqualTo("read");
        assertThat(owners(lock.get("holders"))).containsExactly(1L, 2L);
        assertThat(owners(lock.get("waiters"))).as("queue order: the writer, then the reader behind it")
                .containsExactly(3L, 4L);
        assertThat(lock.get("waiters").get(0).get("mode").asText()).isEqualTo("write");
        assertThat(lock.get("waiters").get(1).get("mode").asText()).isEqualTo("read");
        List<Long> revisions = new ArrayList<>();
        lock.get("holders").forEach(e -> revisions.add(e.get("revision").asLong()));
        lock.get("waiters").forEach(e -> revisions.add(e.get("revision").asLong()));
        assertThat(revisions).isSorted().doesNotHaveDuplicates();
        for (JsonNode entry : List.of(lock.get("holders").get(0), lock.get("waiters").get(0))) {
            assertThat(entry.get("leaseLeftSeconds").asLong()).isBetween(1L, 30L);
            assertThat(entry.get("leaseId").asText()).matches("[0-9a-f]+");
        }

        String first = lock.get("holders").get(0).get("entry").asText();
        SortedMap<String, String> before = TestCoordinators.snapshot(raw, namespace);
        assertThat(http.delete(path + "/entries/" + first).status()).isEqualTo(204);
        SortedMap<String, String> after = TestCoordinators.snapshot(raw, namespace);
        SortedMap<String, String> expected = new TreeMap<>(before);
        assertThat(expected.keySet().removeIf(k -> k.endsWith("/" + first))).isTrue();
        assertThat(after).as("exactly that one entry is gone, nothing else changed").isEqualTo(expected);
        reader1.lost().get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(writing).as("the second reader still holds").isNotDone();

        Http.Response again = http.delete(path + "/entries/" + first);
        assertThat(again.status()).as(again.toString()).isEqualTo(404);
        assertThat(again.json().get("error").asText()).isEqualTo("unknown_entry");
        assertThat(again.json().get("message").asText()).contains(first);

        String second = ok(http.get(path)).get("holders").get(0).get("entry").asText();
        assertThat(http.delete(path + "/entries/" + second).status()).isEqualTo(204);
        assertThat(writing.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS))
                .as("the waiting writer got the lock").isTrue();
        assertThat(writer.isHeld()).isTrue();
        JsonNode written = ok(http.get(path));
        assertThat(written.get("mode").asText()).isEqualTo("write");
        assertThat(owners(written.get("holders"))).containsExactly(3L);
        assertThat(owners(written.get("waiters"))).containsExactly(4L);

        writer.unlock();
        assertThat(reading.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        reader4.unlock();
        reader2.unlock();
    }

    @Test
    void aBadEntryNameIs400AndChangesNothing() {
        String key = "held-" + UUID.randomUUID();
        DistributedLock holder = locks.writeLock(key, 9, LEASE);
        holder.lock();
        Map<String, String> before = TestCoordinators.snapshot(raw, namespace);
        String entry = ok(http.get("/v1/locks/" + key)).get("holders").get(0).get("entry").asText();

        assertBadRequest(http.delete("/v1/locks/" + key + "/entries/"), "empty");
        assertBadRequest(http.delete("/v1/locks/" + key + "/entries/x%2F" + entry), "'/'");
        assertBadRequest(http.delete("/v1/locks/" + key + "/entries/" + "e".repeat(300)), "256");
        Http.Response unknown = http.delete("/v1/locks/" + key + "/entries/w-nothing");
        assertThat(unknown.status()).as(unknown.toString()).isEqualTo(404);
        assertThat(unknown.json().get("error").asText()).isEqualTo("unknown_entry");
        Http.Response otherLock = http.delete("/v1/locks/" + key + "x/entries/" + entry);
        assertThat(otherLock.status()).as("the entry name of one lock reaches no other lock").isEqualTo(404);
        assertThat(TestCoordinators.snapshot(raw, namespace)).isEqualTo(before);
        assertThat(holder.isHeld()).isTrue();
        holder.unlock();
    }

    @Test
    void namesWithMarkupSlashesAndPercentRoundTripAndReachNoOtherAccount() {
        String victim = "victim-" + UUID.randomUUID();
        List<String> names = List.of("<img src=x onerror=alert(1)>", victim + "/x", "../" + victim,
                victim.replace("-", "%2D"), "a%2F" + victim, "100% \"quoted\" & ü");
        String victimId = created(victim, 1);
        Map<String, String> ids = new TreeMap<>();
        for (String name : names) {
            ids.put(name, created(name, 3));
        }

        for (String name : names) {
            JsonNode view = ok(http.get("/v1/accounts/" + encode(name)));
            assertThat(view.get("account").asText()).isEqualTo(name);
            assertThat(row(view, "CPUA").get("used").asLong()).as(name).isEqualTo(13);
            assertThat(view.get("reservations")).hasSize(1);
            assertThat(view.get("reservations").get(0).get("id").asText()).isEqualTo(ids.get(name));
            assertThat(view.get("reservations").get(0).get("account").asText()).isEqualTo(name);
            assertThat(view.get("lock").get("key").asText()).isEqualTo("quota/" + name);
            assertThat(view.get("lock").get("holders")).hasSize(1);
            JsonNode listed = ok(http.get("/v1/accounts?limit=1000&search=" + encode(name)));
            assertThat(names(listed)).contains(name);
        }
        JsonNode victimView = ok(http.get("/v1/accounts/" + victim));
        assertThat(row(victimView, "CPUA").get("used").asLong()).as("the victim's own reservation only")
                .isEqualTo(11);
        assertThat(victimView.get("reservations")).hasSize(1);
        assertThat(victimView.get("reservations").get(0).get("id").asText()).isEqualTo(victimId);
        assertThat(victimView.get("lock").get("holders")).hasSize(1);

        for (String id : ids.values()) {
            assertThat(http.post("/v1/reservations/" + id + "/finally").status()).isEqualTo(204);
        }
        assertThat(http.post("/v1/reservations/" + victimId + "/finally").status()).isEqualTo(204);
    }

    @Test
    void theNewRoutesAnswerHeadAndRefuseOtherMethodsWith405() {
        RawHttp raw = new RawHttp(coordinator.baseUrl());
        RawHttp.Response head = raw.send("HEAD /v1/accounts HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assertThat(head.status()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        assertThat(raw.send("HEAD /v1/locks/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").status())
                .isEqualTo(200);
        Map<String, String> allow = Map.of(
                "POST /v1/accounts", "GET, HEAD",
                "DELETE /v1/accounts/a", "GET, HEAD",
                "POST /v1/locks/x", "GET, HEAD",
                "GET /v1/locks/x/entries/w-1", "DELETE",
                "POST /v1/locks/x/entries/w-1", "DELETE");
        allow.forEach((request, methods) -> {
            RawHttp.Response refused = raw.send(request + " HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
                    + "Connection: close\r\n\r\n");
            assertThat(refused.status()).as(request + ": " + refused).isEqualTo(405);
            assertThat(refused.header("Allow")).as(request).isEqualTo(methods);
        });
    }

    // -----------------------------------------------------------------------------------------------------------

    private String created(String account, long cpua) {
        Http.Response made = http.postJson("/v1/reservations", "{\"account\":" + Replies.JSON.valueToTree(account)
                + ",\"resources\":{\"CPUA\":" + cpua + "}}");
        assertThat(made.status()).as(account + ": " + made).isEqualTo(201);
        return made.json().get("id").asText();
    }

    /** What the page's encodeURIComponent makes of a name. */
    static String encode(String name) {
        return URLEncoder.encode(name, UTF_8).replace("+", "%20");
    }

    private static JsonNode ok(Http.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        return response.json();
    }

    private static void assertBadRequest(Http.Response response, String named) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        assertThat(response.json().get("error").asText()).isEqualTo("bad_request");
        assertThat(response.json().get("message").asText()).contains(named);
    }

    private static JsonNode row(JsonNode view, String resource) {
        for (JsonNode row : view.get("resources")) {
            if (row.get("resource").asText().equals(resource)) {
                return row;
            }
        }
        throw new AssertionError("no row for " + resource + " in " + view);
    }

    private static List<String> names(JsonNode page) {
        List<String> out = new ArrayList<>();
        page.get("accounts").forEach(a -> out.add(a.get("account").asText()));
        return out;
    }

    private static List<Long> owners(JsonNode entries) {
        List<Long> out = new ArrayList<>();
        entries.forEach(e -> out.add(e.get("owner").asLong()));
        return out;
    }

    private static String withoutLeaseLeft(JsonNode lock) {
        return lock.toString().replaceAll("\"leaseLeftSeconds\":-?[0-9]+", "");
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static Op put(String key, String value) {
        return Op.put(ByteSequence.from(key, UTF_8), ByteSequence.from(value, UTF_8), PutOption.DEFAULT);
    }

    private void commit(List<Op> ops) {
        if (ops.isEmpty()) {
            return;
        }
        try {
            raw.getKVClient().txn().Then(ops.toArray(Op[]::new)).commit()
                    .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new AssertionError("cannot write the test's keys", e);
        }
        ops.clear();
    }
}
