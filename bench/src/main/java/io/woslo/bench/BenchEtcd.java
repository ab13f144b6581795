package io.woslo.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The etcd under test: its endpoints, the shared client every single-client scenario uses, fresh key prefixes and
 * housekeeping between phases (compaction, deleting a phase's keys), all outside the timed windows.
 */
final class BenchEtcd implements AutoCloseable {
    static final long HOUSEKEEPING_TIMEOUT_SECONDS = 30;

    private final List<String> endpoints;
    private final Client shared;
    private final String runPrefix;
    private final AtomicInteger prefixes = new AtomicInteger();

    BenchEtcd(List<String> endpoints) {
        this.endpoints = List.copyOf(endpoints);
        this.shared = newClient();
        this.runPrefix = "/woslo-bench-" + Long.toString(System.currentTimeMillis(), 36);
    }

    List<String> endpoints() {
        return endpoints;
    }

    /** The client shared by all single-client scenarios (as one service would share one). */
    Client shared() {
        return shared;
    }

    /** A client of its own; the caller closes it. */
    Client newClient() {
        return Client.builder().endpoints(endpoints.toArray(String[]::new)).build();
    }

    /** A key prefix (also usable as a WOSLO namespace) that no other phase of this run uses. */
    String freshPrefix(String label) {
        return runPrefix + "/" + freshLabel(label);
    }

    /** {@code label} with a number no other call of this run returns. */
    String freshLabel(String label) {
        return label + "-" + prefixes.incrementAndGet();
    }

    /** Compacts etcd's history up to now, so no phase pays for the revisions of the phases before it. */
    void compact() throws Exception {
        long revision = shared.getKVClient().get(bytes(runPrefix), GetOption.builder().withCountOnly(true).build())
                .get(HOUSEKEEPING_TIMEOUT_SECONDS, TimeUnit.SECONDS).getHeader().getRevision();
        shared.getKVClient().compact(revision).get(HOUSEKEEPING_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /** Deletes every key under {@code prefix}. */
    void deletePrefix(String prefix) throws Exception {
        shared.getKVClient().delete(bytes(prefix + "/"), DeleteOption.builder().isPrefix(true).build())
                .get(HOUSEKEEPING_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    static ByteSequence bytes(String text) {
        return ByteSequence.from(text, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        shared.close();
    }
}
