package io.woslo.quota;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.woslo.internal.Counter;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.VersionedCounter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The counters of an account as a {@link Lane} last saw them, with no writer queued at that time.
 *
 * @param accountRevision the mod revision of the account's index key ({@code <ns>/accounts/<account>}, 0 when
 *                        absent) at the time: every writer rewrites it as it queues, so a commit that compares it
 *                        knows no writer queued since ({@link AccountLock})
 * @param confirmed whether etcd returned them during the current batch: only such a view may refuse a request
 *                  (releases never update a lane's remembered view, so a remembered one may show too much used)
 */
record CounterView(Map<String, VersionedCounter> counters, long accountRevision, boolean confirmed) {

    /** The counters of {@code account} a prefix read returned, by resource. */
    static Map<String, VersionedCounter> allCounters(KeyLayout layout, String account, GetResponse response) {
        Map<String, VersionedCounter> out = new HashMap<>();
        for (KeyValue kv : response.getKvs()) {
            out.put(layout.resourceOf(account, Json.string(kv.getKey())), versioned(kv));
        }
        return out;
    }

    /** The mod revision of the one key a read returned, 0 when it returned none. */
    static long modRevision(GetResponse response) {
        return response.getKvs().isEmpty() ? 0 : response.getKvs().get(0).getModRevision();
    }

    static VersionedCounter versioned(KeyValue kv) {
        return new VersionedCounter(Json.read(kv.getValue(), Counter.class), kv.getModRevision());
    }

    /** Whether a counter of {@code resources}, or the account key, changed between this view and {@code after}. */
    boolean movedSince(CounterView after, Set<String> resources) {
        if (accountRevision != after.accountRevision()) {
            return true;
        }
        for (String resource : resources) {
            if (counters.get(resource).modRevision() != after.counters().get(resource).modRevision()) {
                return true;
            }
        }
        return false;
    }

    /** These counters with those of {@code resources} as a failed transaction's else branch read them, in order. */
    Map<String, VersionedCounter> withElse(Set<String> resources, List<GetResponse> gets) {
        Map<String, VersionedCounter> out = new HashMap<>(counters);
        int i = 0;
        for (String resource : resources) {
            List<KeyValue> kvs = gets.get(i++).getKvs();
            out.put(resource, kvs.isEmpty() ? VersionedCounter.MISSING : versioned(kvs.get(0)));
        }
        return out;
    }
}
