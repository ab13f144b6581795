package io.woslo.bench;

import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The coordinator child process when a jar was given and it started; otherwise http-reserve is left out. */
final class CoordinatorHolder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CoordinatorHolder.class);

    private final CoordinatorProcess process;

    private CoordinatorHolder(CoordinatorProcess process) {
        this.process = process;
    }

    static CoordinatorHolder start(BenchOptions options, BenchEtcd etcd) throws InterruptedException {
        if (options.coordinatorJar() == null) {
            LOG.warn("no --coordinator-jar: http-reserve is left out");
            return new CoordinatorHolder(null);
        }
        if (!options.wants("http-reserve")) {
            return new CoordinatorHolder(null);
        }
        try {
            return new CoordinatorHolder(CoordinatorProcess.start(options.coordinatorJar(), etcd.endpoints(),
                    etcd.freshPrefix("http-reserve")));
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            LOG.error("the coordinator did not start, http-reserve is left out: {}", e.toString());
            return new CoordinatorHolder(null);
        }
    }

    Optional<Scenario> scenario(BenchEtcd etcd) {
        return Optional.ofNullable(process).map(p -> HttpReserveScenario.of(etcd, p));
    }

    @Override
    public void close() {
        if (process != null) {
            process.close();
        }
    }
}
