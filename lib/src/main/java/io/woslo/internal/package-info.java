/**
 * WOSLO's etcd plumbing: the key layout, the lock engine, futures and JSON helpers. Not an API: anything here may
 * change in any release. Use {@code io.woslo.quota} and {@code io.woslo.lock}.
 */
package io.woslo.internal;
