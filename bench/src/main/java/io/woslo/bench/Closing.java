package io.woslo.bench;

import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Closes things at the end of a phase; a failure to close is logged, never fatal to the run. */
final class Closing {
    private static final Logger LOG = LoggerFactory.getLogger(Closing.class);

    private Closing() {
    }

    static void quietly(AutoCloseable resource) {
        if (resource == null) {
            return;
        }
        try {
            resource.close();
        } catch (Exception e) {
            LOG.warn("closing {} failed: {}", resource.getClass().getSimpleName(), e.toString());
        }
    }

    /** Closes {@code resources} last to first, each {@link #quietly}. */
    static void inReverse(List<? extends AutoCloseable> resources) {
        for (int i = resources.size() - 1; i >= 0; i--) {
            quietly(resources.get(i));
        }
    }
}
