package io.woslo.internal;

import static io.woslo.internal.Json.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;

/**
 * What makes a counter write safe under an account lock: the write's transaction also compares the writer's own
 * lock entry (it still exists, with the create revision it was granted at), so etcd itself refuses the write of a
 * holder whose lease ended, whose entry was removed, or who was paused past its lease. The same transaction
 * rewrites the entry with the write's id: a writer that did not hear back can read the entry (or, once it is gone,
 * its history) and tell whether its write landed.
 *
 * @param entryKey the holder's lock entry
 * @param createRevision the revision the entry was created at
 * @param leaseId the lease the entry lives on (kept when it is rewritten)
 * @param write whether the entry is a write-lock entry
 */
public record Fence(String entryKey, long createRevision, long leaseId, boolean write) {
    public static Fence of(Acquisition lock) {
        return new Fence(lock.entryKey(), lock.revision(), lock.leaseId(), lock.policy().isWrite());
    }

    /** Holds while the entry is the one granted. */
    public Cmp compare() {
        return new Cmp(bytes(entryKey), Cmp.Op.EQUAL, CmpTarget.createRevision(createRevision));
    }

    /**
     * Rewrites the entry in place (same lease) with {@code writeId}: whoever reads the entry later can tell whether
     * the write carrying this touch landed.
     */
    public Op touch(String writeId) {
        return Op.put(bytes(entryKey), touchValue(writeId), PutOption.builder().withLeaseId(leaseId).build());
    }

    /** The entry's value after {@link #touch(String)}. */
    public ByteSequence touchValue(String writeId) {
        return LockEntryValue.touched(LockPolicy.of(write), writeId);
    }

    /** A read of the entry, for the else branch: tells a lost lock apart from a counter that changed. */
    public Op read() {
        return Op.get(bytes(entryKey), GetOption.builder().withKeysOnly(true).build());
    }

    /** Whether the entry as read by {@link #read()} (null when absent) is still the one granted. */
    public boolean holds(io.etcd.jetcd.KeyValue entry) {
        return entry != null && entry.getCreateRevision() == createRevision;
    }

    /** The failure of a write whose fence did not hold: nothing was written. */
    public LockLostException lost(String what) {
        return new LockLostException("the lock entry " + entryKey + " guarding " + what + " is gone (its lease ended"
                + " or it was removed); nothing was written");
    }
}
