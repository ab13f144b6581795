package io.woslo.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.kv.GetResponse;
import io.woslo.quota.QuotaKeys;
import io.woslo.quota.UsedQuotaHandler;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * etcd is the record of use: the used figure is the counter's own current value (0 before the first reservation),
 * so a refresh keeps what reservations and releases wrote. The quota comes from {@code quotas} per account, else
 * from the default {@code quota}.
 */
record LedgerSource(long quota, Map<String, Long> quotas) implements ResourceSource {
    private static final ObjectMapper JSON = new ObjectMapper();

    static LedgerSource parse(ConfigNode node) {
        return new LedgerSource(node.nonNegativeLong("quota", null), Map.copyOf(node.longMap("quotas")));
    }

    @Override
    public UsedQuotaHandler handler(String resource, Client client, String namespace) {
        return new UsedQuotaHandler() {
            @Override
            public long queryUsed(String account) throws Exception {
                String key = QuotaKeys.counter(namespace, account, resource);
                GetResponse response = client.getKVClient()
                        .get(ByteSequence.from(key, StandardCharsets.UTF_8))
                        .get(DEFAULT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                if (response.getKvs().isEmpty()) {
                    return 0;
                }
                JsonNode counter = JSON.readTree(response.getKvs().get(0).getValue().getBytes());
                return counter.path("used").asLong(0);
            }

            @Override
            public long queryQuota(String account) {
                return quotas.getOrDefault(account, quota);
            }
        };
    }
}
