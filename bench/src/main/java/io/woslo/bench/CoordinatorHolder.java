package io.woslo.bench;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator child processes (all on one namespace) when a jar was given and they started, with the HTTP
 * clients that talk to them; otherwise the http-* scenarios are left out. Two coordinators are started only when
 * {@value ScenarioNames#HTTP_RESERVE_HOT_2COORDINATORS} is wanted.
 */
final class CoordinatorHolder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CoordinatorHolder.class);

    private final List<CoordinatorProcess> processes;
    private final HttpClients http;
    private final boolean spread;

    private CoordinatorHolder(List<CoordinatorProcess> processes, boolean spread) {
        this.processes = processes;
        this.spread = spread;
        this.http = processes.isEmpty() ? null : new HttpClients();
    }

    static CoordinatorHolder start(BenchOptions options, BenchEtcd etcd) throws InterruptedException {
        boolean spread = options.wants(ScenarioNames.HTTP_RESERVE);
        int count = options.wants(ScenarioNames.HTTP_RESERVE_HOT_2COORDINATORS) ? 2 : spread ? 1 : 0;
        if (count == 0) {
            return new CoordinatorHolder(List.of(), false);
        }
        if (options.coordinatorJar() == null) {
            LOG.warn("no --coordinator-jar: the http-* scenarios are left out");
            return new CoordinatorHolder(List.of(), false);
        }
        String namespace = etcd.freshPrefix(ScenarioNames.HTTP_RESERVE);
        List<CoordinatorProcess> started = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                started.add(CoordinatorProcess.start(options.coordinatorJar(), etcd.endpoints(), namespace));
            }
            return new CoordinatorHolder(List.copyOf(started), spread);
        } catch (InterruptedException e) {
            started.forEach(CoordinatorProcess::close);
            throw e;
        } catch (Exception e) {
            started.forEach(CoordinatorProcess::close);
            LOG.error("a coordinator did not start, the http-* scenarios are left out: {}", e.toString());
            return new CoordinatorHolder(List.of(), false);
        }
    }

    /** The HTTP scenarios these coordinators allow, in report order. */
    List<Scenario> scenarios(BenchEtcd etcd) {
        List<Scenario> out = new ArrayList<>();
        if (spread && !processes.isEmpty()) {
            out.add(HttpReserveScenario.spread(etcd, http, processes));
        }
        if (processes.size() >= 2) {
            out.add(HttpReserveScenario.hotOverTwo(etcd, http, processes));
        }
        return out;
    }

    @Override
    public void close() {
        if (http != null) {
            http.close();
        }
        processes.forEach(CoordinatorProcess::close);
    }
}
