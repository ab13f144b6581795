package io.woslo.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * CPU time used by everything a run measures: this JVM, its children (the coordinators) and the etcd members, read
 * from {@code /proc/<pid>/stat} (user plus system time of all threads). Over a window it tells how much CPU one
 * operation costs all of them together, and how many cores were busy: a figure near the machine's core count means
 * the cell is bounded by CPU, not by etcd's disk or by waiting. Without {@code /proc} it reads 0.
 */
final class CpuMeter {
    /** Linux's USER_HZ: the unit of the times in {@code /proc/<pid>/stat}. */
    private static final long TICKS_PER_SECOND = 100;

    private final List<Long> etcdPids;

    CpuMeter(List<Long> etcdPids) {
        this.etcdPids = List.copyOf(etcdPids);
    }

    /** CPU nanoseconds used so far by this JVM, its descendants and etcd. */
    long totalNanos() {
        LongStream pids = Stream.concat(Stream.of(ProcessHandle.current()), ProcessHandle.current().descendants())
                .mapToLong(ProcessHandle::pid);
        return LongStream.concat(pids, etcdPids.stream().mapToLong(Long::longValue)).map(CpuMeter::cpuNanos).sum();
    }

    /** Used and system time of one process, 0 when it cannot be read (gone, no /proc). */
    static long cpuNanos(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // "pid (comm) state ppid ...": comm may hold spaces; utime and stime are the 12th and 13th fields after it.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
            return ticks * (1_000_000_000L / TICKS_PER_SECOND);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
