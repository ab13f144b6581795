package io.woslo.bench;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A scenario made ready for one in-flight level: its operation plus whatever must be closed afterwards. */
interface Workload extends Operation, AutoCloseable {
    @Override
    void close();

    /** A workload running {@code operation}; {@code resources} are closed last to first. */
    static Workload of(Operation operation, AutoCloseable... resources) {
        return new Workload() {
            @Override
            public CompletableFuture<Integer> start(long seq) {
                return operation.start(seq);
            }

            @Override
            public void close() {
                Closing.inReverse(List.of(resources));
            }
        };
    }
}
