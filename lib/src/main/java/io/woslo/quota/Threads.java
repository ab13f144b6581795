package io.woslo.quota;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** Names the daemon threads the quota manager owns, so a thread dump tells whose they are. */
final class Threads {
    private Threads() {
    }

    /** Daemon threads named {@code name-1}, {@code name-2}, ... */
    static ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
