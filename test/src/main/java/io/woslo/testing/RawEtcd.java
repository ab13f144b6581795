package io.woslo.testing;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Reads what the library wrote, straight from etcd with plain jetcd calls, so assertions do not trust the code
 * under test. Keys are given exactly as they should appear in etcd (already escaped).
 */
public final class RawEtcd {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Client client;
    private final String namespace;

    public RawEtcd(Client client, String namespace) {
        this.client = client;
        this.namespace = namespace;
    }

    /** The plain jetcd client these reads go through. */
    public Client client() {
        return client;
    }

    /** The counter at {@code <ns>/quota/<escapedAccount>/<resource>}, if it exists. */
    public Optional<JsonNode> counter(String escapedAccount, String resource) {
        return value(namespace + "/quota/" + escapedAccount + "/" + resource);
    }

    /** The {@code used} figure of a counter that must exist. */
    public long used(String escapedAccount, String resource) {
        return counter(escapedAccount, resource)
                .orElseThrow(() -> new AssertionError("no counter " + escapedAccount + "/" + resource))
                .path("used").asLong();
    }

    /** The JSON value of one key, if it exists. */
    public Optional<JsonNode> value(String key) {
        try {
            List<KeyValue> kvs = client.getKVClient().get(ByteSequence.from(key, UTF_8))
                    .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getKvs();
            return kvs.isEmpty() ? Optional.empty() : Optional.of(JSON.readTree(kvs.get(0).getValue().getBytes()));
        } catch (IOException e) {
            throw new AssertionError("the value of " + key + " is not JSON", e);
        } catch (Exception e) {
            throw new AssertionError("cannot read " + key, e);
        }
    }

    /** Every key under {@code <ns><suffix>} (e.g. {@code "/locks/"}) with its value as text, in key order. */
    public Map<String, String> under(String suffix) {
        String prefix = namespace + suffix;
        try {
            List<KeyValue> kvs = client.getKVClient()
                    .get(ByteSequence.from(prefix, UTF_8), GetOption.builder().isPrefix(true).build())
                    .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getKvs();
            Map<String, String> out = new LinkedHashMap<>();
            kvs.forEach(kv -> out.put(kv.getKey().toString(UTF_8), kv.getValue().toString(UTF_8)));
            return out;
        } catch (Exception e) {
            throw new AssertionError("cannot read the prefix " + prefix, e);
        }
    }

    /** The keys of the account locks' queues: {@code <ns>/locks/...}. */
    public Map<String, String> locks() {
        return under("/locks/");
    }
}
