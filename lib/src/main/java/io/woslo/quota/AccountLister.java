package io.woslo.quota;

import java.util.List;

/** Lists the accounts whose counters {@link QuotaManager#initResourceQuotaData} loads and scans. */
@FunctionalInterface
public interface AccountLister {
    List<String> accounts() throws Exception;
}
