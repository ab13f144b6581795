package io.woslo.quota;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The whole life of a reservation, checked in etcd with plain reads: a stored reservation's record written in the
 * reservation's own transaction on a pooled lease, ended (kept, partly kept, given back) in ONE transaction, extended,
 * and sent again with an idempotency key; a reservation held in memory committed and extended.
 */
@WithEtcd
class ReservationLifecycleIT extends QuotaItSupport {

    /** A manager whose account's counters are loaded, so reservations take the fast path. */
    private QuotaManager manager(Client client) {
        QuotaManager quota = closeLater(QuotaManager.builder(client).namespace(namespace)
                .lockLeaseTime(Duration.ofSeconds(5))
                .resource("CPUA", new FixedHandler(10, 20)).resource("GPU", new FixedHandler(0, 8)).build());
        quota.refresh(account, true);
        return quota;
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> future) throws Exception {
        return future.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
    }

    @Test
    void aStoredReservationIsWrittenWithItsEntryAndEndedInOneTransaction(Client client) throws Exception {
        QuotaManager quota = manager(client);
        StoredReservation made = await(quota.prepareStoredAsync(account, Map.of("CPUA", 2L, "GPU", 1L)));

        KeyValue record = one(namespace + "/reservations/" + made.id());
        KeyValue entry = only(namespace + "/locks/");
        assertThat(record.getCreateRevision()).as("record and lock entry in one transaction")
                .isEqualTo(entry.getCreateRevision());
        assertThat(record.getLease()).as("record on the entry's lease").isEqualTo(entry.getLease());
        assertThat(raw.used(account, "CPUA")).isEqualTo(12);

        long since = revision();
        assertThat(await(quota.finishStoredAsync(made.id()))).isTrue();
        assertThat(raw.under("/reservations/")).isEmpty();
        assertThat(raw.locks()).isEmpty();
        assertThat(raw.used(account, "CPUA")).as("finally keeps the amounts").isEqualTo(12);
        assertThat(deleteRevisionsSince(since)).as("record and entry deleted by one transaction").hasSize(1);
    }

    @Test
    void onTheSlowPathTheRecordNamesTheEntryThatFencesIt(Client client) throws Exception {
        QuotaManager quota = closeLater(QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", new FixedHandler(10, 20)).build());
        // No counter yet: the reservation locks the account and creates it in its own fenced transaction.
        StoredReservation made = await(quota.prepareStoredAsync(account, Map.of("CPUA", 2L)));
        KeyValue entry = only(namespace + "/locks/");
        assertThat(raw.value(namespace + "/reservations/" + made.id()).orElseThrow().path("entryRevision").asLong())
                .isEqualTo(entry.getCreateRevision());
        assertThat(await(quota.rollbackStoredAsync(made.id()))).isTrue();
        assertThat(raw.used(account, "CPUA")).isEqualTo(10);
        assertThat(raw.locks()).isEmpty();
    }

    @Test
    void finallyEndsReservationsItCannotEndBlind(Client client) throws Exception {
        QuotaManager slow = closeLater(QuotaManager.builder(client).namespace(namespace)
                .resource("CPUA", new FixedHandler(10, 20)).resource("GPU", new FixedHandler(0, 8)).build());
        // No counter yet: the slow path names the lock entry itself, so the end must read the record first.
        StoredReservation slowOne = await(slow.prepareStoredAsync(account, Map.of("CPUA", 1L)));
        assertThat(await(slow.finishStoredAsync(slowOne.id()))).isTrue();
        assertThat(raw.locks()).isEmpty();

        QuotaManager quota = manager(client);
        StoredReservation extended = await(quota.prepareStoredAsync(account, Map.of("CPUA", 1L)));
        await(quota.extendStoredAsync(extended.id(), Duration.ofSeconds(60)));
        assertThat(await(quota.finishStoredAsync(extended.id()))).as("a rewritten record").isTrue();
        assertThat(raw.locks()).isEmpty();
        assertThat(raw.under("/reservations/")).isEmpty();
        assertThat(raw.used(account, "CPUA")).as("the refresh reset it to 10; the extended one kept 1").isEqualTo(11);
    }

    @Test
    void anIdNamingAnotherAccountEndsNothing(Client client) throws Exception {
        QuotaManager quota = manager(client);
        StoredReservation mine = await(quota.prepareStoredAsync(account, Map.of("CPUA", 1L)));
        String forged = java.util.UUID.randomUUID() + mine.id().substring(36);
        Map<String, String> before = raw.under("/");
        assertThat(await(quota.finishStoredAsync(forged))).isFalse();
        assertThat(await(quota.rollbackStoredAsync(forged))).isFalse();
        assertThat(raw.under("/")).isEqualTo(before);
        assertThat(await(quota.finishStoredAsync(mine.id()))).isTrue();
    }

    @Test
    void finallyWithAmountsKeepsThoseAndGivesTheRestBackInOneTransaction(Client client) throws Exception {
        QuotaManager quota = manager(client);
        StoredReservation made = await(quota.prepareStoredAsync(account, Map.of("CPUA", 5L, "GPU", 3L)));
        long cpuBefore = one(namespace + "/quota/" + account + "/CPUA").getModRevision();
        long since = revision();

        assertThat(await(quota.finishStoredAsync(made.id(), Map.of("CPUA", 2L), null))).isTrue();

        assertThat(raw.used(account, "CPUA")).as("keeps 2 of 5").isEqualTo(12);
        assertThat(raw.used(account, "GPU")).as("GPU not named: all given back").isZero();
        long cpuAfter = one(namespace + "/quota/" + account + "/CPUA").getModRevision();
        assertThat(cpuAfter).isGreaterThan(cpuBefore);
        assertThat(one(namespace + "/quota/" + account + "/GPU").getModRevision()).isEqualTo(cpuAfter);
        assertThat(deleteRevisionsSince(since)).as("counters, record and entry in one transaction")
                .containsExactly(cpuAfter);
    }

    @Test
    void keepingMoreThanWasReservedOrAnotherResourceChangesNothing(Client client) throws Exception {
        QuotaManager quota = manager(client);
        StoredReservation made = await(quota.prepareStoredAsync(account, Map.of("CPUA", 2L)));
        Map<String, String> before = raw.under("/");

        assertThatThrownBy(() -> await(quota.finishStoredAsync(made.id(), Map.of("CPUA", 3L), null)))
                .hasCauseInstanceOf(IllegalArgumentException.class).hasMessageContaining("reserved only 2");
        assertThatThrownBy(() -> await(quota.finishStoredAsync(made.id(), Map.of("GPU", 1L), null)))
                .hasCauseInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("did not reserve resource 'GPU'");

        assertThat(raw.under("/")).as("nothing changed").isEqualTo(before);
        assertThat(await(quota.findStoredAsync(made.id()))).as("still open").isPresent();
    }

    @Test
    void aRollbackGivesEverythingBackAndASecondEndFindsNothing(Client client) throws Exception {
        QuotaManager quota = manager(client);
        StoredReservation made = await(quota.prepareStoredAsync(account, Map.of("CPUA", 4L)));
        assertThat(await(quota.rollbackStoredAsync(made.id()))).isTrue();
        assertThat(raw.used(account, "CPUA")).isEqualTo(10);
        assertThat(await(quota.finishStoredAsync(made.id()))).isFalse();
        assertThat(await(quota.rollbackStoredAsync(made.id()))).isFalse();
        assertThat(raw.used(account, "CPUA")).isEqualTo(10);
    }

    @Test
    void makingAndEndingStoredReservationsGrantsNoLeaseEach(Client client) throws Exception {
        QuotaManager quota = manager(client);
        for (int i = 0; i < 20; i++) {
            StoredReservation made = await(quota.prepareStoredAsync(account, Map.of("CPUA", 1L, "GPU", 0L + (i % 2))));
            await(i % 3 == 0 ? quota.finishStoredAsync(made.id()) : quota.rollbackStoredAsync(made.id()));
        }
        java.util.Set<Long> leases = new java.util.HashSet<>();
        int records = 0;
        for (var event : history()) {
            String key = event.getKeyValue().getKey().toString(UTF_8);
            if (event.getEventType() == io.etcd.jetcd.watch.WatchEvent.EventType.PUT
                    && (key.contains("/reservations/") || key.contains("/locks/"))) {
                leases.add(event.getKeyValue().getLease());
                records += key.contains("/reservations/") ? 1 : 0;
            }
        }
        assertThat(records).isEqualTo(20);
        // The pool replaces its lease once a second: a few at most, never one per reservation.
        assertThat(leases).hasSizeLessThan(10);
    }

    @Test
    void anExtensionOutlivesTheLockLeaseAndNeverShortens(Client client) throws Exception {
        QuotaManager quota = manager(client);
        StoredReservation made = await(quota.prepareStoredAsync(account, Map.of("CPUA", 1L)));

        StoredReservation longer = await(quota.extendStoredAsync(made.id(), Duration.ofSeconds(120))).orElseThrow();
        assertThat(longer.expiresAtMillis()).isGreaterThanOrEqualTo(made.reservedAtMillis() + 120_000);
        KeyValue record = one(namespace + "/reservations/" + made.id());
        KeyValue entry = only(namespace + "/locks/");
        assertThat(record.getLease()).isEqualTo(entry.getLease());
        assertThat(ttl(client, record.getLease())).as("lives at least 120 s from now").isGreaterThan(110);
        assertThat(entry.getCreateRevision()).as("the same entry: its fence still holds")
                .isEqualTo(record.getCreateRevision());

        StoredReservation again = await(quota.extendStoredAsync(made.id(), Duration.ofSeconds(10))).orElseThrow();
        assertThat(again.expiresAtMillis()).as("never shortened").isEqualTo(longer.expiresAtMillis());

        assertThat(await(quota.rollbackStoredAsync(made.id()))).as("ends after a move to a new lease").isTrue();
        assertThat(raw.used(account, "CPUA")).isEqualTo(10);
        assertThat(raw.locks()).isEmpty();
        assertThat(await(quota.extendStoredAsync(made.id(), Duration.ofSeconds(10)))).as("ended").isEmpty();
    }

    @Test
    void theSameKeyAndRequestAnswerTheFirstReservationAndMakeNoOther(Client client) throws Exception {
        QuotaManager quota = manager(client);
        IdempotencyKey key = new IdempotencyKey("create-1", "fingerprint-a");
        StoredReservation first = await(quota.prepareStoredAsync(account, Map.of("CPUA", 3L), key));
        StoredReservation second = await(quota.prepareStoredAsync(account, Map.of("CPUA", 3L), key));

        assertThat(second).isEqualTo(first);
        assertThat(raw.used(account, "CPUA")).as("applied once").isEqualTo(13);
        assertThat(raw.under("/idempotency/")).containsOnlyKeys(namespace + "/idempotency/create-1");

        assertThatThrownBy(() -> await(quota.prepareStoredAsync(account, Map.of("CPUA", 1L),
                new IdempotencyKey("create-1", "fingerprint-b"))))
                .hasCauseInstanceOf(IdempotencyKeyReusedException.class);
        assertThat(raw.used(account, "CPUA")).isEqualTo(13);

        IdempotencyKey end = new IdempotencyKey("end-1", "fingerprint-c");
        assertThat(await(quota.rollbackStoredAsync(first.id(), end))).isTrue();
        assertThat(await(quota.rollbackStoredAsync(first.id(), end))).as("the first outcome again").isTrue();
        assertThat(await(quota.rollbackStoredAsync(first.id()))).as("without the key: ended").isFalse();
        assertThat(raw.used(account, "CPUA")).as("given back once").isEqualTo(10);
    }

    @Test
    void aReleaseSentTwiceWithOneKeyAppliesOnce(Client client) throws Exception {
        QuotaManager quota = manager(client);
        quota.prepareOccupying(account, Map.of("CPUA", 5L)).close();
        IdempotencyKey key = new IdempotencyKey("clean-1", "fp");
        await(quota.cleanUsedAsync(account, Map.of("CPUA", 2L), key));
        await(quota.cleanUsedAsync(account, Map.of("CPUA", 2L), key));
        assertThat(raw.used(account, "CPUA")).isEqualTo(13);
    }

    @Test
    void aReservationInMemoryCommitsWhatItUsedInOneTransaction(Client client) throws Exception {
        QuotaManager quota = manager(client);
        Reservation reservation = quota.prepareOccupying(account, Map.of("CPUA", 4L, "GPU", 2L));
        assertThatThrownBy(() -> reservation.commit(Map.of("CPUA", 5L))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("reserved only 4");
        assertThat(raw.used(account, "CPUA")).as("nothing changed").isEqualTo(14);

        long since = revision();
        reservation.commit(Map.of("CPUA", 1L));

        assertThat(raw.used(account, "CPUA")).isEqualTo(11);
        assertThat(raw.used(account, "GPU")).isZero();
        assertThat(raw.locks()).as("the lock released with it").isEmpty();
        assertThat(deleteRevisionsSince(since))
                .containsExactly(one(namespace + "/quota/" + account + "/CPUA").getModRevision());
        reservation.close();
        reservation.rollback();
        assertThat(raw.used(account, "CPUA")).as("ended: rollback does nothing").isEqualTo(11);
        assertThatThrownBy(() -> reservation.commit(Map.of())).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aReservationInMemoryExtendsItsLock(Client client) throws Exception {
        QuotaManager quota = manager(client);
        try (Reservation reservation = quota.prepareOccupying(account, Map.of("CPUA", 1L))) {
            reservation.extend(Duration.ofSeconds(90));
            KeyValue entry = only(namespace + "/locks/");
            assertThat(ttl(client, entry.getLease())).isGreaterThan(80);
            reservation.extend(Duration.ofSeconds(10));
            assertThat(only(namespace + "/locks/").getLease()).as("never shortened").isEqualTo(entry.getLease());
            assertThat(ttl(client, entry.getLease())).isGreaterThan(80);
        }
        assertThat(raw.locks()).isEmpty();
    }

    /** The current revision of the store. */
    private long revision() throws Exception {
        return client.getKVClient().get(ByteSequence.from(namespace, UTF_8)).get(10, TimeUnit.SECONDS).getHeader()
                .getRevision();
    }

    /** The revisions of the deletes after {@code since}: one per transaction that deleted something. */
    private java.util.Set<Long> deleteRevisionsSince(long since) throws Exception {
        java.util.Set<Long> revisions = new java.util.TreeSet<>();
        for (var event : history()) {
            if (event.getEventType() == io.etcd.jetcd.watch.WatchEvent.EventType.DELETE
                    && event.getKeyValue().getModRevision() > since) {
                revisions.add(event.getKeyValue().getModRevision());
            }
        }
        return revisions;
    }

    /** Every event under the namespace so far, from etcd's history. */
    private List<io.etcd.jetcd.watch.WatchEvent> history() throws Exception {
        var events = new java.util.concurrent.LinkedBlockingQueue<io.etcd.jetcd.watch.WatchEvent>();
        long now = client().getKVClient().get(ByteSequence.from(namespace, UTF_8)).get().getHeader().getRevision();
        var done = new java.util.concurrent.CountDownLatch(1);
        try (var watcher = client().getWatchClient().watch(ByteSequence.from(namespace + "/", UTF_8),
                io.etcd.jetcd.options.WatchOption.builder().isPrefix(true).withRevision(1).build(), response -> {
                    response.getEvents().forEach(events::add);
                    if (response.getEvents().stream().anyMatch(e -> e.getKeyValue().getModRevision() >= now)
                            || response.getEvents().isEmpty()) {
                        done.countDown();
                    }
                })) {
            // The history up to now: a put after it marks its end.
            client().getKVClient().put(ByteSequence.from(namespace + "/zz-end", UTF_8), ByteSequence.EMPTY).get();
            assertThat(done.await(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        }
        client().getKVClient().delete(ByteSequence.from(namespace + "/zz-end", UTF_8)).get();
        return events.stream().filter(e -> !e.getKeyValue().getKey().toString(UTF_8).endsWith("/zz-end")).toList();
    }

    private Client client;

    @org.junit.jupiter.api.BeforeEach
    void keepClient(Client client) {
        this.client = client;
    }

    private Client client() {
        return client;
    }

    private KeyValue one(String key) throws Exception {
        List<KeyValue> kvs = client.getKVClient().get(ByteSequence.from(key, UTF_8)).get(10, TimeUnit.SECONDS).getKvs();
        assertThat(kvs).as(key).hasSize(1);
        return kvs.get(0);
    }

    private KeyValue only(String prefix) throws Exception {
        List<KeyValue> kvs = client.getKVClient().get(ByteSequence.from(prefix, UTF_8),
                GetOption.builder().isPrefix(true).build()).get(10, TimeUnit.SECONDS).getKvs();
        assertThat(kvs).as(prefix).hasSize(1);
        return kvs.get(0);
    }

    private static long ttl(Client client, long lease) throws Exception {
        return client.getLeaseClient().timeToLive(lease, io.etcd.jetcd.options.LeaseOption.DEFAULT)
                .get(10, TimeUnit.SECONDS).getTTL();
    }

    @SuppressWarnings("unused")
    private static Throwable cause(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }
}
