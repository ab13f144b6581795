package io.woslo.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which earlier entries a reader or a writer waits for, decided on a queue as read. No etcd needed. */
class LockPolicyTest {
    private static final QueueEntry R1 = new QueueEntry("/w/locks/k/r-1-1", false, 10);
    private static final QueueEntry W2 = new QueueEntry("/w/locks/k/w-2-2", true, 11);
    private static final QueueEntry R3 = new QueueEntry("/w/locks/k/r-3-3", false, 12);
    private static final QueueEntry W4 = new QueueEntry("/w/locks/k/w-4-4", true, 13);
    private static final QueueEntry R5 = new QueueEntry("/w/locks/k/r-5-5", false, 14);

    @Test
    void aReaderWaitsOnlyForEarlierWriters() {
        assertThat(LockPolicy.READ.waitsFor(R1)).isFalse();
        assertThat(LockPolicy.READ.waitsFor(W2)).isTrue();
    }

    @Test
    void aWriterWaitsForEveryEarlierEntry() {
        assertThat(LockPolicy.WRITE.waitsFor(R1)).isTrue();
        assertThat(LockPolicy.WRITE.waitsFor(W2)).isTrue();
    }

    @Test
    void readersBehindReadersHoldTogether() {
        LockPolicy.Look look = LockPolicy.READ.look(List.of(R1, R3, R5), R5.key(), key -> false);

        assertThat(look).isEqualTo(new LockPolicy.Look.Free(R5));
    }

    @Test
    void aReaderIsBlockedByTheNewestEarlierWriterNotByLaterOnes() {
        LockPolicy.Look look = LockPolicy.READ.look(List.of(W2, R3, W4, R5), R3.key(), key -> false);

        assertThat(look).isEqualTo(new LockPolicy.Look.Blocked(R3, W2));
    }

    @Test
    void aReaderQueuedBehindAWaitingWriterWaitsForThatWriter() {
        LockPolicy.Look look = LockPolicy.READ.look(List.of(R1, W2, R3), R3.key(), key -> false);

        assertThat(look).isEqualTo(new LockPolicy.Look.Blocked(R3, W2));
    }

    @Test
    void aWriterIsBlockedByTheNewestEarlierEntryOfAnyMode() {
        LockPolicy.Look look = LockPolicy.WRITE.look(List.of(W2, R3, W4, R5), W4.key(), key -> false);

        assertThat(look).isEqualTo(new LockPolicy.Look.Blocked(W4, R3));
    }

    @Test
    void entriesKnownGoneAreSkippedAndAnOlderBlockerStillCounts() {
        Set<String> gone = Set.of(R3.key());

        LockPolicy.Look look = LockPolicy.WRITE.look(List.of(R1, R3, W4), W4.key(), gone::contains);

        assertThat(look).isEqualTo(new LockPolicy.Look.Blocked(W4, R1));
    }

    @Test
    void aWriterWithEveryEarlierEntryGoneHoldsTheLock() {
        Set<String> gone = Set.of(R1.key(), W2.key());

        LockPolicy.Look look = LockPolicy.WRITE.look(List.of(R1, W2, W4), W4.key(), gone::contains);

        assertThat(look).isEqualTo(new LockPolicy.Look.Free(W4));
    }

    @Test
    void theFirstEntryHoldsWhateverItsMode() {
        assertThat(LockPolicy.WRITE.look(List.of(W2, R3), W2.key(), key -> false))
                .isEqualTo(new LockPolicy.Look.Free(W2));
        assertThat(LockPolicy.READ.look(List.of(R1, W2), R1.key(), key -> false))
                .isEqualTo(new LockPolicy.Look.Free(R1));
    }

    @Test
    void anEntryMissingFromTheQueueIsReportedMissing() {
        assertThat(LockPolicy.READ.look(List.of(R1, W2), R3.key(), key -> false))
                .isEqualTo(new LockPolicy.Look.Missing());
        assertThat(LockPolicy.WRITE.look(List.of(), W4.key(), key -> false))
                .isEqualTo(new LockPolicy.Look.Missing());
    }

    @Test
    void labelsNameTheModeAsEntryValuesAndMetricsDo() {
        assertThat(LockPolicy.READ.label()).isEqualTo("read");
        assertThat(LockPolicy.WRITE.label()).isEqualTo("write");
        assertThat(LockPolicy.of(true)).isEqualTo(LockPolicy.WRITE);
        assertThat(LockPolicy.of(false)).isEqualTo(LockPolicy.READ);
    }

    @Test
    void theHoldersAreTheHeadOfTheQueueThatWaitsForNoEarlierEntry() {
        assertThat(LockPolicy.holders(List.of())).isZero();
        assertThat(LockPolicy.holders(List.of(R1, R3, R5))).as("readers only: all hold").isEqualTo(3);
        assertThat(LockPolicy.holders(List.of(R1, R3, W4, R5))).as("readers up to the first writer").isEqualTo(2);
        assertThat(LockPolicy.holders(List.of(W2, R3, R5))).as("a writer alone").isEqualTo(1);
        assertThat(LockPolicy.holders(List.of(W2, W4))).isEqualTo(1);
        assertThat(LockPolicy.holders(List.of(R1, W2, R3))).as("a reader behind a waiting writer waits").isEqualTo(1);
    }
}
