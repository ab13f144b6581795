package io.woslo.fault;

import io.woslo.testing.TestTimeouts;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A separate JVM running a main class of the test sources on the test classpath, for faults where a crash of the
 * client process matters. {@link #close()} kills it (SIGKILL) if it still runs: use it in try-with-resources.
 */
final class ChildJvm implements AutoCloseable {
    private final Process process;
    private final BufferedReader out;

    private ChildJvm(Process process) {
        this.process = process;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    static ChildJvm start(Class<?> main, String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        return new ChildJvm(new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start());
    }

    /**
     * Reads the child's output (its logging included) until a line starting with {@code prefix}, within the step
     * bound.
     */
    String awaitLine(String prefix) throws Exception {
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                for (String l = out.readLine(); l != null; l = out.readLine()) {
                    if (l.startsWith(prefix)) {
                        return l;
                    }
                }
                throw new IllegalStateException("the child JVM exited before printing '" + prefix + "'");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        return line.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** kill -9: no unlock, no shutdown hook. Returns once the process is gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("child JVM " + process.pid() + " still runs after SIGKILL");
        }
    }

    /** Freezes the child JVM (SIGSTOP), as a stop-the-world GC pause longer than any lease would. */
    void pause() {
        io.woslo.testing.Signals.stop(process.pid());
    }

    /** Thaws the child JVM (SIGCONT); it carries on as if no time had passed. */
    void resume() {
        io.woslo.testing.Signals.resume(process.pid());
    }

    long pid() {
        return process.pid();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
