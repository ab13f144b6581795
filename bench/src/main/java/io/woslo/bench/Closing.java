package io.woslo.bench;

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
}
