package io.woslo.quota;

import io.woslo.lock.LockMode;

/**
 * One row of {@link QuotaManager#check}: the handlers' figures beside the cached counter.
 *
 * @param resource the resource name
 * @param realQuota the quota the handler reports (0 when it failed)
 * @param realUsed the usage the handler reports (0 when it failed)
 * @param cacheQuota the quota cached in etcd (0 when there is no counter)
 * @param cacheUsed the usage cached in etcd, reservations in flight included (0 when there is no counter)
 * @param refreshedAtMillis when the counter was last re-synced, epoch milliseconds (0 when never)
 * @param error whether the figures disagree, the counter is missing or a handler failed
 * @param errorMessage what is wrong, empty when nothing is
 * @param lock how the account's lock is held now
 */
public record ResourceCheck(String resource, long realQuota, long realUsed, long cacheQuota, long cacheUsed,
                            long refreshedAtMillis, boolean error, String errorMessage, LockMode lock) {
}
