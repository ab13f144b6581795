package io.woslo.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class TargetsTest {

    private static CellResult cell(String scenario, int inFlight, double opsPerSecond, double p50Millis) {
        return new CellResult(scenario, inFlight, opsPerSecond, p50Millis, Double.NaN, null, Double.NaN, Double.NaN,
                0, null, List.of());
    }

    @Test
    void theTableHoldsTheTargetsTheReportHasAlwaysPrinted() {
        List<Target> targets = Targets.on(new Results(List.of()));
        assertThat(targets).extracting(t -> "| " + t.goal() + " | " + t.requirement() + " |").containsExactly(
                "| reserve-spread / etcd-put ops/s at 64 in flight | ≥ 0.5 |",
                "| reserve-hot / etcd-put ops/s at 64 in flight | ≥ 0.5 |",
                "| reserve-hot / reserve-spread ops/s at 64 in flight | ≥ 0.8 |",
                "| reserve-spread p50 / etcd-put p50 at 1 in flight | ≤ 2.5 |",
                "| lock-write-contended / etcd-put ops/s at 64 in flight | ≥ 0.3 |",
                "| http-reserve / reserve-spread ops/s at 64 in flight | ≥ 0.5 |",
                "| http-reserve p50 / reserve-spread p50 at 1 in flight | ≤ 2.0 |",
                "| reserve-hot-3clients / etcd-put ops/s at 16 in flight | ≥ 0.5 |",
                "| reserve-hot-3clients / etcd-put ops/s at 64 in flight | ≥ 0.5 |",
                "| http-reserve-hot-2coordinators / etcd-put ops/s at 64 in flight | ≥ 0.3 |");
        assertThat(targets).extracting(Target::verdict).containsOnly("n/a");
    }

    @Test
    void aTargetDividesTheScenariosFigureByTheBasesAtTheSameInFlightLevel() {
        Results results = new Results(List.of(cell("etcd-put", 64, 10_000, 4), cell("etcd-put", 1, 2_000, 0.4),
                cell("reserve-spread", 64, 6_000, 8), cell("reserve-spread", 1, 900, 1.2),
                cell("reserve-hot", 64, 4_000, 9)));
        List<Target> targets = Targets.on(results);

        assertThat(targets.get(0).measured()).isEqualTo(0.6);
        assertThat(targets.get(0).verdict()).isEqualTo("PASS");
        assertThat(targets.get(1).measured()).isEqualTo(0.4);
        assertThat(targets.get(1).verdict()).isEqualTo("MISS");
        assertThat(targets.get(2).measured()).isEqualTo(4_000.0 / 6_000);
        assertThat(targets.get(2).verdict()).isEqualTo("MISS");
        assertThat(targets.get(3).measured()).as("p50 ratio at 1 in flight").isEqualTo(1.2 / 0.4);
        assertThat(targets.get(3).verdict()).as("at most 2.5").isEqualTo("MISS");
        assertThat(targets.get(4).verdict()).as("no lock cell").isEqualTo("n/a");
    }

    @Test
    void anUpperBoundPassesAtOrBelowIt() {
        assertThat(new Target("g", 2.5, 2.5, false).verdict()).isEqualTo("PASS");
        assertThat(new Target("g", 2.51, 2.5, false).verdict()).isEqualTo("MISS");
        assertThat(new Target("g", 0.5, 0.5, true).verdict()).isEqualTo("PASS");
        assertThat(new Target("g", 0.49, 0.5, true).verdict()).isEqualTo("MISS");
    }

    @Test
    void everyScenarioOfTheTableIsOneTheBenchmarkRuns() {
        assertThat(Targets.table()).allSatisfy(spec -> {
            assertThat(ScenarioNames.ALL).contains(spec.scenario(), spec.base());
            assertThat(Bench.IN_FLIGHT).contains(spec.inFlight());
        });
    }

    @Test
    void aMistypedLineIsRefusedNamingIt() {
        assertThatThrownBy(() -> Targets.parse(List.of("ops\treserve-hott\tetcd-put\t64\t>= 0.5")))
                .hasMessageContaining("reserve-hott");
        assertThatThrownBy(() -> Targets.parse(List.of("ops\treserve-hot\tetcd-put\t64\t> 0.5")))
                .hasMessageContaining("'>= X' or '<= X'");
        assertThatThrownBy(() -> Targets.parse(List.of("ops reserve-hot etcd-put 64 >= 0.5")))
                .hasMessageContaining("tab-separated");
        assertThat(Targets.parse(List.of("# a comment", "", "p50\treserve-hot\tetcd-put\t1\t<= 3")))
                .containsExactly(new Targets.Spec(Targets.Figure.P50, "reserve-hot", "etcd-put", 1, false, 3.0));
    }
}
