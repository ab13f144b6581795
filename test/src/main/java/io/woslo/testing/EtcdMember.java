package io.woslo.testing;

import java.net.URI;

/** One member of an {@link EtcdCluster}, which tests may stop, kill and restart to inject faults. */
public interface EtcdMember {
    /** The member's name in the cluster, {@code m0}, {@code m1}, ... */
    String name();

    /** The client URL, e.g. {@code http://127.0.0.1:40123}. */
    URI clientUrl();

    /** Whether the member's process is alive. */
    boolean isRunning();

    /** Stops the member gracefully (SIGTERM) and waits until it is gone. */
    void stop();

    /** Kills the member at once (SIGKILL), as a crash would, and waits until it is gone. */
    void kill();

    /** Starts the member again on the same ports and data directory, and waits until it is healthy. */
    void restart();

    /**
     * Freezes the member (SIGSTOP), as a long GC pause, a frozen VM or a stalled disk would: it keeps its sockets
     * open but answers nothing, not even its peers, until {@link #resume()}. Pausing a paused member does nothing.
     */
    void pause();

    /** Thaws a member frozen by {@link #pause()} (SIGCONT); it then carries on where it stopped. */
    void resume();

    /** Whether the member is frozen by {@link #pause()}. */
    boolean isPaused();
}
