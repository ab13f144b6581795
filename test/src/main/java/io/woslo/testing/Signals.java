package io.woslo.testing;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * POSIX signals to a process by pid, through the {@code kill} command (Java has no signal API): SIGSTOP freezes a
 * process as a long GC pause or a frozen VM would, SIGCONT thaws it. Only ever aimed at a pid the harness started.
 */
public final class Signals {
    private Signals() {
    }

    /** Freezes the process (SIGSTOP): it keeps its sockets and memory but runs no instruction until resumed. */
    public static void stop(long pid) {
        send("-STOP", pid);
    }

    /** Thaws a process frozen by {@link #stop(long)} (SIGCONT). */
    public static void resume(long pid) {
        send("-CONT", pid);
    }

    private static void send(String signal, long pid) {
        try {
            Process kill = new ProcessBuilder("kill", signal, Long.toString(pid)).redirectErrorStream(true).start();
            if (!kill.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill " + signal + " " + pid + " failed: "
                        + new String(kill.getInputStream().readAllBytes()));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run kill " + signal + " " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending " + signal + " to " + pid, e);
        }
    }
}
