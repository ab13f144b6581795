package io.woslo.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class StatisticsTest {
    private static final long MS = 1_000_000;

    @Test
    void percentilesAreNearestRankInMilliseconds() {
        long[] hundred = LongStream.rangeClosed(1, 100).map(i -> i * MS).toArray();
        assertThat(Statistics.percentileMillis(hundred, 0.50)).isEqualTo(50.0);
        assertThat(Statistics.percentileMillis(hundred, 0.99)).isEqualTo(99.0);
        assertThat(Statistics.percentileMillis(hundred, 1.0)).isEqualTo(100.0);
        assertThat(Statistics.percentileMillis(hundred, 0.001)).isEqualTo(1.0);
    }

    @Test
    void aPercentileIsAValueThatWasMeasuredNeverAnInterpolation() {
        long[] three = {1 * MS, 2 * MS, 30 * MS};
        assertThat(Statistics.percentileMillis(three, 0.50)).isEqualTo(2.0); // rank ceil(1.5) = 2
        assertThat(Statistics.percentileMillis(three, 0.99)).isEqualTo(30.0); // rank ceil(2.97) = 3
        long[] two = {4 * MS, 8 * MS};
        assertThat(Statistics.percentileMillis(two, 0.50)).isEqualTo(4.0); // rank 1: the lower, not the mean
        assertThat(Statistics.percentileMillis(new long[] {1_500_000}, 0.99)).isEqualTo(1.5);
    }

    @Test
    void thePercentileOfNothingIsNotANumber() {
        assertThat(Statistics.percentileMillis(new long[0], 0.50)).isNaN();
    }

    @Test
    void theMedianOfAnOddCountIsTheMiddleValueAndOfAnEvenCountTheMeanOfTheMiddleTwo() {
        assertThat(Statistics.median(new double[] {3, 1, 2})).isEqualTo(2.0);
        assertThat(Statistics.median(new double[] {10, 1, 4, 2})).isEqualTo(3.0);
        assertThat(Statistics.median(new double[] {7})).isEqualTo(7.0);
    }

    @Test
    void theMedianSkipsFiguresThatAreNotNumbers() {
        assertThat(Statistics.median(new double[] {Double.NaN, 5, 1})).isEqualTo(3.0);
        assertThat(Statistics.median(new double[] {Double.NaN, Double.NaN})).isNaN();
        assertThat(Statistics.median(new double[0])).isNaN();
    }

    @Test
    void aRatioNeedsAPositiveDenominator() {
        assertThat(Statistics.ratio(3, 4)).isEqualTo(0.75);
        assertThat(Statistics.ratio(3, 0)).isNaN();
        assertThat(Statistics.ratio(3, Double.NaN)).isNaN();
        assertThat(Statistics.ratio(Double.NaN, 2)).isNaN();
    }

    @Test
    void cpuPerOperationIsMillisecondsOfCpuPerSuccessfulOperation() {
        assertThat(Statistics.cpuMillisPerOp(1_500 * MS, 3_000)).isEqualTo(0.5);
        assertThat(Statistics.cpuMillisPerOp(1_500 * MS, 0)).isNaN();
        assertThat(Statistics.cpuMillisPerOp(0, 10)).as("no CPU time read (no /proc)").isNaN();
    }

    @Test
    void coresBusyIsCpuTimeOverTheWindow() {
        assertThat(Statistics.coresBusy(1_200 * MS, 0.6)).isCloseTo(2.0, within(1e-9));
        assertThat(Statistics.coresBusy(0, 0.6)).isNaN();
    }

    @Test
    void retriesPerOperationCountOnlySuccessfulOperations() {
        assertThat(Statistics.retriesPerOp(3, 12)).isEqualTo(0.25);
        assertThat(Statistics.retriesPerOp(0, 12)).isEqualTo(0.0);
        assertThat(Statistics.retriesPerOp(5, 0)).isNaN();
    }
}
