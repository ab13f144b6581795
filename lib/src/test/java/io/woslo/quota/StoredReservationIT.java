package io.woslo.quota;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Reservations kept in etcd by id, made by one manager and ended by another on a separate client. */
@WithEtcd
class StoredReservationIT {
    private final String namespace = "/stored-" + UUID.randomUUID();
    private Client raw;
    private QuotaManager first;
    private QuotaManager second;

    @BeforeEach
    void setUp(EtcdCluster etcd) {
        raw = etcd.newClient();
        first = manager(etcd.newClient());
        second = manager(etcd.newClient());
    }

    private QuotaManager manager(Client client) {
        return QuotaManager.builder(client)
                .namespace(namespace)
                .lockLeaseTime(Duration.ofSeconds(2))
                .resource("CPUA", new FixedHandler(10, 20))
                .build();
    }

    @AfterEach
    void tearDown() {
        first.close();
        second.close();
    }

    @Test
    void aReservationMadeByOneProcessIsFinishedByAnother() throws Exception {
        StoredReservation made = first.prepareStoredAsync("acct", Map.of("CPUA", 3L)).get(10, TimeUnit.SECONDS);
        assertThat(made.amounts()).isEqualTo(Map.of("CPUA", 3L));
        assertThat(second.findStoredAsync(made.id()).get(10, TimeUnit.SECONDS)).isPresent();

        assertThat(second.finishStoredAsync(made.id()).get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(first.finishStoredAsync(made.id()).get(10, TimeUnit.SECONDS)).as("already ended").isFalse();

        assertThat(used("acct")).isEqualTo(13);
        assertThat(rawCount(namespace + "/reservations/")).isZero();
        assertThat(rawCount(namespace + "/locks/")).isZero();
    }

    @Test
    void aRollbackByAnotherProcessGivesTheAmountsBackOnce() throws Exception {
        StoredReservation made = first.prepareStoredAsync("acct2", Map.of("CPUA", 4L)).get(10, TimeUnit.SECONDS);
        assertThat(used("acct2")).isEqualTo(14);

        CompletableFuture<Boolean> a = second.rollbackStoredAsync(made.id());
        CompletableFuture<Boolean> b = first.rollbackStoredAsync(made.id());

        assertThat(a.get(10, TimeUnit.SECONDS) ^ b.get(10, TimeUnit.SECONDS)).as("exactly one rollback wins").isTrue();
        assertThat(used("acct2")).isEqualTo(10);
        assertThat(rawCount(namespace + "/locks/")).isZero();
    }

    @Test
    void anUnfinishedReservationEndsWithItsLease() throws Exception {
        StoredReservation made = first.prepareStoredAsync("acct3", Map.of("CPUA", 1L)).get(10, TimeUnit.SECONDS);
        ByteSequence key = ByteSequence.from(namespace + "/reservations/" + made.id(), UTF_8);
        CompletableFuture<Void> deleted = new CompletableFuture<>();
        try (var watcher = raw.getWatchClient().watch(key, WatchOption.DEFAULT, response -> response.getEvents()
                .stream().filter(e -> e.getEventType() == WatchEvent.EventType.DELETE).findAny()
                .ifPresent(e -> deleted.complete(null)))) {
            if (rawCount(namespace + "/reservations/") > 0) {
                deleted.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
            }
        }
        assertThat(second.finishStoredAsync(made.id()).get(10, TimeUnit.SECONDS)).isFalse();
        assertThat(used("acct3")).as("the amount stays counted until a refresh").isEqualTo(11);
        second.refresh("acct3", true);
        assertThat(used("acct3")).isEqualTo(10);
    }

    private long used(String account) throws Exception {
        var got = raw.getKVClient().get(ByteSequence.from(namespace + "/quota/" + account + "/CPUA", UTF_8))
                .get(10, TimeUnit.SECONDS);
        return new ObjectMapper().readTree(got.getKvs().get(0).getValue().getBytes()).path("used").asLong();
    }

    private long rawCount(String prefix) throws Exception {
        return raw.getKVClient().get(ByteSequence.from(prefix, UTF_8), GetOption.builder().isPrefix(true)
                .withCountOnly(true).build()).get(10, TimeUnit.SECONDS).getCount();
    }
}
