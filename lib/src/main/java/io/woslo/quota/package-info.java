/**
 * Quota reservations on etcd: reserve atomically before creating billable things, give back on failure, keep the
 * counters in step with the source of truth.
 *
 * <p>Start at {@link io.woslo.quota.QuotaManager}. Counters live at {@code <namespace>/quota/<account>/<resource>}
 * and can be read with {@code etcdctl get --prefix /woslo/quota/}.
 */
package io.woslo.quota;
