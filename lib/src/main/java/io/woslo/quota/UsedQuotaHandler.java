package io.woslo.quota;

/**
 * The source of truth for one resource: how much of it an account uses and may use. WOSLO's counters in etcd cache
 * these figures and are re-synced from them. Handlers may block (a database query, an HTTP call); WOSLO calls them
 * on its handler executor, never on an event loop.
 */
public interface UsedQuotaHandler {
    /** How much of the resource {@code account} uses now, as the system of record sees it. */
    long queryUsed(String account) throws Exception;

    /** How much of the resource {@code account} may use. */
    long queryQuota(String account) throws Exception;
}
