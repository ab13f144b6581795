package io.woslo.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Client;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link QuotaManager#listStoredAsync}: an account's open stored reservations, oldest first, others left out. */
@WithEtcd
class StoredReservationListIT extends QuotaItSupport {

    @Test
    void listsTheAccountsOpenReservationsOldestFirstAndDropsEndedOnes(Client client) throws Exception {
        QuotaManager quota = manager(client, new FixedHandler(0, 100));
        StoredReservation first = await(quota.prepareStoredAsync(account, Map.of("CPUA", 1L)));
        StoredReservation second = await(quota.prepareStoredAsync(account, Map.of("CPUA", 2L)));
        StoredReservation other = await(quota.prepareStoredAsync("someone-else", Map.of("CPUA", 3L)));
        StoredReservation noop = await(quota.prepareStoredAsync(account, Map.of("CPUA", 0L)));

        List<StoredReservation> listed = await(quota.listStoredAsync(account));

        assertThat(listed).extracting(StoredReservation::id).containsExactlyInAnyOrder(first.id(), second.id())
                .doesNotContain(other.id(), noop.id());
        assertThat(listed).isSortedAccordingTo(java.util.Comparator.comparingLong(StoredReservation::reservedAtMillis));
        assertThat(listed).filteredOn(r -> r.id().equals(second.id())).singleElement()
                .isEqualTo(await(quota.findStoredAsync(second.id())).orElseThrow());

        assertThat(await(quota.finishStoredAsync(first.id()))).isTrue();
        assertThat(await(quota.listStoredAsync(account))).extracting(StoredReservation::id)
                .containsExactly(second.id());
        assertThat(await(quota.listStoredAsync("nobody"))).isEmpty();
    }

    @Test
    void aBadAccountIsRefusedAtOnce(Client client) {
        QuotaManager quota = manager(client, new FixedHandler(0, 100));
        assertThatThrownBy(() -> quota.listStoredAsync(null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("account must not be null");
        assertThatThrownBy(() -> quota.listStoredAsync("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("account must not be empty");
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> future) throws Exception {
        return future.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
    }
}
