package io.woslo.bench;

import io.etcd.jetcd.Client;
import io.woslo.quota.QuotaManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code prepareOccupyingAsync} + {@code closeAsync} through {@link QuotaManager}: over some accounts, some
 * resources per reservation, and one or more managers each on its own etcd client. Each phase gets a fresh
 * namespace whose accounts are loaded before timing.
 */
final class ReserveScenario {
    /** Long enough that no counter goes stale (and is refreshed) during a run. */
    private static final Duration CACHE_TTL = Duration.ofHours(1);

    private ReserveScenario() {
    }

    /**
     * @param accounts  how many accounts the reservations go round
     * @param resources resources reserved (1 of each) per reservation
     * @param clients   managers, each on an etcd client of its own (1: the shared client)
     */
    static Scenario of(BenchEtcd etcd, String name, String description, int accounts, List<String> resources,
                       int clients) {
        Map<String, Long> requirement = Accounts.oneEach(resources);
        return new Scenario(name, description, true, inFlight -> {
            String namespace = etcd.freshPrefix(name + "-" + inFlight);
            List<AutoCloseable> resourcesToClose = new ArrayList<>(); // closed last to first
            resourcesToClose.add(() -> etcd.deletePrefix(namespace));
            try {
                List<QuotaManager> managers = managers(etcd, namespace, resources, clients, resourcesToClose);
                List<String> names = Accounts.named("acct-", accounts);
                Accounts.load(managers.get(0), names);
                return Workload.of(operation(managers, names, requirement),
                        resourcesToClose.toArray(AutoCloseable[]::new));
            } catch (Exception | Error e) {
                Closing.inReverse(resourcesToClose); // a set-up that failed leaves no client or manager running
                throw e;
            }
        });
    }

    /** {@code clients} managers, the first on the shared client; each is added to {@code toClose} as it is made. */
    private static List<QuotaManager> managers(BenchEtcd etcd, String namespace, List<String> resources, int clients,
                                               List<AutoCloseable> toClose) {
        List<QuotaManager> managers = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            Client client = i == 0 ? etcd.shared() : etcd.newClient();
            if (i > 0) {
                toClose.add(client);
            }
            QuotaManager manager = manager(client, namespace, resources);
            toClose.add(manager);
            managers.add(manager);
        }
        return managers;
    }

    /**
     * Reserve and close, round robin over the managers and accounts. Each operation reports the managers' conflicts
     * counted since the last one reported: the sum over a window is exact, the attribution to single operations is
     * not (nor needs to be).
     */
    private static Operation operation(List<QuotaManager> managers, List<String> names, Map<String, Long> requirement) {
        AtomicLong reported = new AtomicLong();
        return seq -> managers.get((int) (seq % managers.size()))
                .prepareOccupyingAsync(names.get((int) (seq % names.size())), requirement)
                .thenCompose(reservation -> reservation.closeAsync())
                .thenApply(v -> {
                    long now = managers.stream().mapToLong(QuotaManager::conflictCount).sum();
                    return (int) Math.max(0, now - reported.getAndSet(now));
                });
    }

    static QuotaManager manager(Client client, String namespace, List<String> resources) {
        QuotaManager.Builder builder = QuotaManager.builder(client).namespace(namespace).cacheTtl(CACHE_TTL);
        resources.forEach(resource -> builder.resource(resource, StaticQuota.INSTANCE));
        return builder.build();
    }
}
