package io.woslo.bench;

import java.util.concurrent.CompletableFuture;

/** One benchmarked operation, started without blocking; completes with the number of retries it needed. */
@FunctionalInterface
interface Operation {
    /**
     * Starts operation number {@code seq} (0, 1, 2, ... within one measured phase).
     *
     * @return completes with the retries the operation needed (0 when the scenario does not count them)
     */
    CompletableFuture<Integer> start(long seq);
}
