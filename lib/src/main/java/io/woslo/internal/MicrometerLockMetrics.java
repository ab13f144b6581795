package io.woslo.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@link LockMetrics} on a Micrometer registry; loaded only when one is configured. Every meter is registered up
 * front (two modes, three wait outcomes), so the series are few and fixed and none is missing before its first
 * event:
 * <ul>
 *   <li>{@code woslo.lock.acquisitions{mode}}: locks granted;</li>
 *   <li>{@code woslo.lock.waits{mode,outcome}}: a timer of the attempts that found the lock held and waited;</li>
 *   <li>{@code woslo.lock.losses{mode}}: holds lost before their release.</li>
 * </ul>
 * Meters registered twice on one registry (two engines) are shared.
 */
public final class MicrometerLockMetrics implements LockMetrics {
    private final Counter[] acquisitions = new Counter[2];
    private final Counter[] losses = new Counter[2];
    @SuppressWarnings("unchecked")
    private final Map<WaitOutcome, Timer>[] waits = new Map[2];

    public MicrometerLockMetrics(MeterRegistry registry) {
        for (LockPolicy policy : LockPolicy.values()) {
            int i = policy.ordinal();
            String mode = policy.label();
            acquisitions[i] = Counter.builder("woslo.lock.acquisitions").tag("mode", mode)
                    .description("locks granted (account locks include each reservation's read entry)")
                    .register(registry);
            losses[i] = Counter.builder("woslo.lock.losses").tag("mode", mode)
                    .description("held locks lost (lease ended or entry deleted) before their release")
                    .register(registry);
            waits[i] = new EnumMap<>(WaitOutcome.class);
            for (WaitOutcome outcome : WaitOutcome.values()) {
                waits[i].put(outcome, Timer.builder("woslo.lock.waits").tag("mode", mode).tag("outcome", outcome.label())
                        .description("attempts that found the lock held and waited, by how the wait ended")
                        .register(registry));
            }
        }
    }

    @Override
    public void acquired(LockPolicy policy) {
        acquisitions[policy.ordinal()].increment();
    }

    @Override
    public void waited(LockPolicy policy, WaitOutcome outcome, long nanos) {
        waits[policy.ordinal()].get(outcome).record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void lost(LockPolicy policy) {
        losses[policy.ordinal()].increment();
    }
}
