package io.woslo.testing;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Ends every etcd process the harness started when the JVM exits, so a failed or interrupted test run leaves no
 * etcd behind. (A JVM killed with SIGKILL runs no hook; its etcd children are then orphans on temp ports.)
 */
final class ProcessReaper {
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ProcessReaper::killAll, "woslo-etcd-reaper"));
    }

    private ProcessReaper() {
    }

    static void register(Process process) {
        LIVE.add(process);
    }

    static void unregister(Process process) {
        LIVE.remove(process);
    }

    private static void killAll() {
        for (Process process : LIVE) {
            process.destroyForcibly();
        }
    }
}
