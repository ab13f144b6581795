package io.woslo.quota;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.woslo.internal.Counter;
import io.woslo.internal.Json;
import io.woslo.internal.KeyLayout;
import io.woslo.internal.VersionedCounter;
import java.util.HashMap;
import java.util.Map;

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
}
