/**
 * Distributed read-write locks on etcd leases, ordered by etcd revision.
 *
 * <p>Start at {@link io.woslo.lock.RwLocks}; {@link io.woslo.lock.DistributedLock} states the guarantees. Every
 * acquisition is a key under {@code <namespace>/locks/<escaped key>/} on a lease of its own, so
 * {@code etcdctl get --prefix /woslo/locks/} shows who holds and who waits.
 */
package io.woslo.lock;
