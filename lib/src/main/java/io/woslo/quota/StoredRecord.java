package io.woslo.quota;

import static io.woslo.internal.Json.bytes;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.woslo.internal.KeyLayout;
import java.util.Map;

/**
 * The stored form of a reservation kept by id, at {@code <ns>/reservations/<id>}:
 * {@code {"account","resources","reservedAt","expiresAt","entry","entryRevision"}}; the last two name the read-lock
 * entry the reservation holds, which fences the counters it gives back. An {@code entryRevision} of 0 means the
 * record's own create revision (record and entry written together).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
record StoredRecord(String account, Map<String, Long> resources, long reservedAt, long expiresAt, String entry,
                    long entryRevision) {
    long entryRevision(KeyValue record) {
        return entryRevision != 0 ? entryRevision : record.getCreateRevision();
    }

    StoredReservation reservation(String id) {
        return new StoredReservation(id, account, resources, reservedAt, expiresAt);
    }

    /** The etcd key of reservation {@code id}'s record. */
    static ByteSequence key(KeyLayout layout, String id) {
        return bytes(layout.reservationKey(id));
    }

    /** The public fields of a stored record, whatever else it holds: what a listing reads. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Listed(String account, Map<String, Long> resources, long reservedAt, long expiresAt) {
    }
}
