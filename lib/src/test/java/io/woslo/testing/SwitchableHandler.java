package io.woslo.testing;

import io.woslo.quota.UsedQuotaHandler;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;

/**
 * A source of truth for tests ({@link UsedQuotaHandler}) whose behaviour can be switched while it is in use:
 * {@link Mode#NORMAL} answers at once; {@link Mode#SLOW} reads the figure at once and answers it only after a delay
 * (a slow database: the answer is as old as the call), e.g. longer than the quota manager's lock lease;
 * {@link Mode#FAILING} throws. The figures come from two functions of the account that the test owns (a ledger),
 * and every {@code queryUsed} answer is reported to a {@link Listener} with the moment it was read.
 */
public final class SwitchableHandler implements UsedQuotaHandler {
    /** How the handler answers. */
    public enum Mode { NORMAL, SLOW, FAILING }

    /** Told of every used figure the handler read: when (nanoTime), for which account, and what. */
    public interface Listener {
        void usedRead(String resource, String account, long readAtNanos, long used);
    }

    private final String resource;
    private final ToLongFunction<String> used;
    private final ToLongFunction<String> quota;
    private final Listener listener;
    private volatile Mode mode = Mode.NORMAL;
    private volatile Duration slowness = Duration.ZERO;
    private volatile boolean slowQuota;
    private final Map<Mode, AtomicLong> calls = new EnumMap<>(Mode.class);

    public SwitchableHandler(String resource, ToLongFunction<String> used, ToLongFunction<String> quota,
                             Listener listener) {
        this.resource = resource;
        this.used = used;
        this.quota = quota;
        this.listener = listener;
        for (Mode m : Mode.values()) {
            calls.put(m, new AtomicLong());
        }
    }

    /** Answers normally from now on. */
    public void normal() {
        mode = Mode.NORMAL;
    }

    /** Answers {@code delay} late from now on; {@code quotaToo} makes quota queries slow as well as used ones. */
    public void slow(Duration delay, boolean quotaToo) {
        slowness = delay;
        slowQuota = quotaToo;
        mode = Mode.SLOW;
    }

    /** Throws from now on. */
    public void failing() {
        mode = Mode.FAILING;
    }

    public Mode mode() {
        return mode;
    }

    /** How many queries were answered in each mode. */
    public Map<Mode, Long> calls() {
        Map<Mode, Long> out = new EnumMap<>(Mode.class);
        calls.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    @Override
    public long queryUsed(String account) throws Exception {
        Mode now = mode;
        calls.get(now).incrementAndGet();
        if (now == Mode.FAILING) {
            throw new IllegalStateException("source of truth of " + resource + " is failing (injected)");
        }
        long readAt = System.nanoTime();
        long value = used.applyAsLong(account);
        listener.usedRead(resource, account, readAt, value);
        if (now == Mode.SLOW) {
            Thread.sleep(slowness.toMillis()); // the slow source itself: its answer takes this long
        }
        return value;
    }

    @Override
    public long queryQuota(String account) throws Exception {
        Mode now = mode;
        if (now == Mode.FAILING) {
            throw new IllegalStateException("source of truth of " + resource + " is failing (injected)");
        }
        long value = quota.applyAsLong(account);
        if (now == Mode.SLOW && slowQuota) {
            Thread.sleep(slowness.toMillis()); // the slow source itself
        }
        return value;
    }
}
