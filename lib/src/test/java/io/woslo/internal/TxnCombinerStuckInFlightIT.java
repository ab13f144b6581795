package io.woslo.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Regression: the combiner stayed "in flight" for ever once building a transaction threw (jetcd builds the request
 * in {@code commit()}, where a malformed operation throws), so every later submit hung. A part whose transaction
 * cannot be built now fails alone, and the combiner goes on with the others.
 */
@WithEtcd(members = 1)
class TxnCombinerStuckInFlightIT {
    private static final Duration OP_TIMEOUT = Duration.ofSeconds(10);
    private final String prefix = "/it/combiner-" + UUID.randomUUID().toString().substring(0, 8) + "/";

    @Test
    void aPartThatCannotBeBuiltFailsAndLaterPartsStillCommit(Client client) throws Exception {
        TxnCombiner combiner = new TxnCombiner(client.getKVClient(), OP_TIMEOUT);

        TxnCombiner.Submission[] bad = new TxnCombiner.Submission[1];
        Throwable thrown = catchThrowable(() -> bad[0] = combiner.submit(unbuildable("bad")));
        TxnCombiner.Submission good = combiner.submit(put("good"));

        assertThat(await(good.outcome()).succeeded()).isTrue();
        assertThat(thrown).as("a build failure is the part's outcome, not the submitter's exception").isNull();
        assertThat(bad[0].outcome()).failsWithin(TestTimeouts.step());
        assertThat(count(client, "good")).isEqualTo(1);
    }

    @Test
    void aBatchWithAnUnbuildablePartFailsOnlyThatPart(Client client) throws Exception {
        TxnCombiner combiner = new TxnCombiner(client.getKVClient(), OP_TIMEOUT);
        List<TxnCombiner.Submission> submissions = new ArrayList<>();
        // The first part goes alone; the ones submitted while it is in flight go together in the next transaction.
        submissions.add(combiner.submit(put("first")));
        submissions.add(combiner.submit(put("before")));
        TxnCombiner.Submission bad = combiner.submit(unbuildable("bad"));
        submissions.add(combiner.submit(put("after")));

        for (TxnCombiner.Submission s : submissions) {
            assertThat(await(s.outcome()).succeeded()).isTrue();
        }
        assertThat(bad.outcome()).failsWithin(TestTimeouts.step());
        assertThat(await(combiner.submit(put("later")).outcome()).succeeded()).isTrue();
        assertThat(count(client, "first") + count(client, "before") + count(client, "after") + count(client, "later"))
                .isEqualTo(4);
    }

    /** A put with a null option: jetcd throws a NullPointerException when it builds the request. */
    private TxnCombiner.Part unbuildable(String name) {
        return new TxnCombiner.Part(List.of(), List.of(Op.put(bytes(prefix + name), bytes("x"), null)), List.of());
    }

    private TxnCombiner.Part put(String name) {
        return new TxnCombiner.Part(List.of(), List.of(Op.put(bytes(prefix + name), bytes("x"), PutOption.DEFAULT)),
                List.of());
    }

    private long count(Client client, String name) throws Exception {
        return await(client.getKVClient().get(bytes(prefix + name), GetOption.builder().withCountOnly(true).build()))
                .getCount();
    }

    private static <T> T await(CompletableFuture<T> future) throws Exception {
        return future.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, UTF_8);
    }
}
