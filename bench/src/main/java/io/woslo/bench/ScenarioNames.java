package io.woslo.bench;

import java.util.List;

/**
 * The name of every scenario, as the report, the JSON, {@code --scenarios} and the targets table
 * ({@value Targets#RESOURCE}) spell it. What each one does is described where it is built.
 */
final class ScenarioNames {
    /** Puts of distinct keys: the ceiling every figure is compared with. Always runs. */
    static final String ETCD_PUT = "etcd-put";
    static final String ETCD_CAS_HOT = "etcd-cas-hot";
    static final String ETCD_LEASE_CYCLE = "etcd-lease-cycle";
    static final String RESERVE_SPREAD = "reserve-spread";
    static final String RESERVE_HOT = "reserve-hot";
    static final String RESERVE_HOT_MULTI = "reserve-hot-multi";
    static final String LOCK_WRITE_CONTENDED = "lock-write-contended";
    static final String LOCK_READ_SHARED = "lock-read-shared";
    static final String HTTP_RESERVE = "http-reserve";
    static final String HTTP_RESERVE_HOT_2COORDINATORS = "http-reserve-hot-2coordinators";
    static final String RESERVE_HOT_3CLIENTS = "reserve-hot-3clients";

    /** Every scenario in report order. */
    static final List<String> ALL = List.of(ETCD_PUT, ETCD_CAS_HOT, RESERVE_SPREAD, RESERVE_HOT, RESERVE_HOT_MULTI,
            ETCD_LEASE_CYCLE, LOCK_WRITE_CONTENDED, LOCK_READ_SHARED, HTTP_RESERVE, HTTP_RESERVE_HOT_2COORDINATORS,
            RESERVE_HOT_3CLIENTS);

    /** The lighter scenarios that warm the JVM up at the start of a run. */
    static final List<String> WARM_UP = List.of(ETCD_PUT, RESERVE_HOT, LOCK_READ_SHARED);

    private static final String HTTP_PREFIX = "http-";

    private ScenarioNames() {
    }

    /** Whether {@code name} goes through coordinator processes (and so warms them up apart). */
    static boolean isHttp(String name) {
        return name.startsWith(HTTP_PREFIX);
    }
}
