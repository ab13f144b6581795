package io.woslo.lock;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Lock names are one percent-encoded key segment under {@code <ns>/locks/}: names that differ stay apart in etcd,
 * and none reaches outside its place.
 */
@WithEtcd(members = 1)
class LockKeyEscapingIT extends LockItSupport {
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Test
    void aSlashAnEscapedSlashAndThePrefixAreIndependentLocks(EtcdCluster etcd, Client client) throws Exception {
        RwLocks locks = locks(etcd.newClient());
        DistributedLock slash = locks.writeLock("a/b", 1, LEASE);
        DistributedLock escapedSlash = locks.writeLock("a%2Fb", 2, LEASE);
        DistributedLock prefix = locks.writeLock("a", 3, LEASE);

        assertThat(slash.tryLock(Duration.ZERO)).isTrue();
        assertThat(escapedSlash.tryLock(Duration.ZERO)).as("'a%2Fb' while 'a/b' is held").isTrue();
        assertThat(prefix.tryLock(Duration.ZERO)).as("'a' while 'a/b' and 'a%2Fb' are held").isTrue();

        assertThat(rawKeys(client, "a%2Fb")).singleElement().asString().startsWith(ns + "/locks/a%2Fb/");
        assertThat(rawKeys(client, "a%252Fb")).singleElement().asString().startsWith(ns + "/locks/a%252Fb/");
        assertThat(rawKeys(client, "a")).singleElement().asString().startsWith(ns + "/locks/a/");
        assertThat(locks.inspect("a/b").holders()).containsExactly(1L);
        assertThat(locks.inspect("a%2Fb").holders()).containsExactly(2L);
        assertThat(locks.inspect("a").holders()).containsExactly(3L);
    }

    @Test
    void spacesNonAsciiAndDotsAreEscapedIntoOneSegmentUnderLocks(Client client) throws Exception {
        RwLocks locks = locks(client);
        List<String> names = List.of("a b", "über", "日本", "../quota", "x~y_z.-");
        for (String name : names) {
            assertThat(locks.writeLock(name, 1, LEASE).tryLock(Duration.ZERO)).as(name).isTrue();
        }

        List<String> segments = allKeysUnder(client, ns + "/").stream()
                .map(key -> key.substring((ns + "/locks/").length(), key.lastIndexOf('/')))
                .toList();

        assertThat(allKeysUnder(client, ns + "/")).allSatisfy(key -> assertThat(key).startsWith(ns + "/locks/"));
        assertThat(segments).containsExactlyInAnyOrder(
                "a%20b", "%C3%BCber", "%E6%97%A5%E6%9C%AC", "..%2Fquota", "x~y_z.-");
        assertThat(locks.inspect("über").mode()).isEqualTo(LockMode.WRITE);
    }

    private static List<String> allKeysUnder(Client client, String prefix) throws Exception {
        return client.getKVClient()
                .get(bytes(prefix), GetOption.builder().isPrefix(true).withKeysOnly(true).build())
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)
                .getKvs().stream()
                .map(kv -> kv.getKey().toString(UTF_8))
                .toList();
    }
}
