package io.woslo.coordinator;

import io.etcd.jetcd.Client;
import io.woslo.quota.UsedQuotaHandler;

/** Fixed figures, the same for every account, as in the Go edition's example. */
record StaticSource(long used, long quota) implements ResourceSource, UsedQuotaHandler {
    static StaticSource parse(ConfigNode node) {
        return new StaticSource(node.nonNegativeLong("used", 0L), node.nonNegativeLong("quota", null));
    }

    @Override
    public UsedQuotaHandler handler(String resource, Client client, String namespace) {
        return this;
    }

    @Override
    public long queryUsed(String account) {
        return used;
    }

    @Override
    public long queryQuota(String account) {
        return quota;
    }
}
