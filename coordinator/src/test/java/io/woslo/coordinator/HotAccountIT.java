package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;

/**
 * Two coordinators, several threads each, on one hot account (CPUB: 0 used of 20): creates ended by finally (keeping
 * all or part) or rollback, mixed. The counter, read from etcd after every create and end, never goes over quota, and
 * at the end used is exactly what the finals kept, with no record or lock entry left.
 */
@WithEtcd
class HotAccountIT {
    @Test
    void twoCoordinatorsOnOneHotAccountNeverGoOverQuota(EtcdCluster etcd, Client raw) throws Exception {
        String namespace = TestCoordinators.freshNamespace("hot");
        List<String> settings = List.of("healthCheckInterval: 1h");
        try (Coordinator a = TestCoordinators.startSeed(etcd, namespace, settings, List.of());
             Coordinator b = TestCoordinators.startSeed(etcd, namespace, settings, List.of())) {
            Http[] http = {new Http(a.baseUrl()), new Http(b.baseUrl())};
            int threads = 6;
            AtomicLong kept = new AtomicLong();
            AtomicLongArray outcomes = new AtomicLongArray(3); // created, refused, ended
            List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int me = t;
                done.add(pool.submit(() -> {
                    go.await();
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    for (int i = 0; i < 25; i++) {
                        int amount = 1 + random.nextInt(3);
                        Http.Response made = http[(me + i) % 2].postJson("/v1/reservations",
                                "{\"account\":\"hot\",\"resources\":{\"CPUB\":" + amount + "}}", null);
                        if (made.status() == 409) {
                            outcomes.incrementAndGet(1);
                            continue;
                        }
                        assertThat(made.status()).as(made.toString()).isEqualTo(201);
                        outcomes.incrementAndGet(0);
                        long now = TestCoordinators.counter(raw, namespace, "hot", "CPUB").get("used").asLong();
                        if (now > 20) {
                            violations.add("used " + now + " > 20 after a create");
                        }
                        String id = made.json().get("id").asText();
                        Http other = http[(me + i + 1) % 2];
                        int choice = random.nextInt(3);
                        long keep = choice == 0 ? 0 : choice == 1 ? amount : random.nextInt(amount + 1);
                        kept.addAndGet(keep);
                        Http.Response end = choice == 0
                                ? other.postJson("/v1/reservations/" + id + "/rollback", null, null)
                                : other.postJson("/v1/reservations/" + id + "/finally",
                                        "{\"resources\":{\"CPUB\":" + keep + "}}", null);
                        assertThat(end.status()).as(end.toString()).isEqualTo(204);
                        outcomes.incrementAndGet(2);
                        long used = TestCoordinators.counter(raw, namespace, "hot", "CPUB").get("used").asLong();
                        if (used > 20) {
                            violations.add("used " + used + " > 20");
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(TestTimeouts.step().toMillis() * 10, TimeUnit.MILLISECONDS);
            }
            pool.shutdown();
            assertThat(violations).isEmpty();
            assertThat(outcomes.get(0)).as("some were made").isPositive();
            assertThat(outcomes.get(2)).isEqualTo(outcomes.get(0));
            assertThat(TestCoordinators.counter(raw, namespace, "hot", "CPUB").get("used").asLong())
                    .as("used == base 0 + kept").isEqualTo(kept.get());
            assertThat(TestCoordinators.keysUnder(raw, namespace + "/reservations/")).isZero();
            assertThat(TestCoordinators.keysUnder(raw, namespace + "/locks/")).isZero();
        }
    }
}
