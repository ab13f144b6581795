package io.woslo.testing;

/** The etcd behaviours WOSLO relies on, against one member. */
@WithEtcd(members = 1)
class SingleMemberEtcdIT extends EtcdContractChecks {
}
