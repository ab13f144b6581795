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
    private final Map<LockPolicy, Counter> acquisitions = new EnumMap<>(LockPolicy.class);
    private final Map<LockPolicy, Counter> losses = new EnumMap<>(LockPolicy.class);
    private final Map<LockPolicy, Map<WaitOutcome, Timer>> waits = new EnumMap<>(LockPolicy.class);

    public MicrometerLockMetrics(MeterRegistry registry) {
        for (LockPolicy policy : LockPolicy.values()) {
            String mode = policy.label();
            acquisitions.put(policy, Counter.builder("woslo.lock.acquisitions").tag("mode", mode)
                    .description("locks granted (account locks include each reservation's read entry)")
                    .register(registry));
            losses.put(policy, Counter.builder("woslo.lock.losses").tag("mode", mode)
                    .description("held locks lost (lease ended or entry deleted) before their release")
                    .register(registry));
            Map<WaitOutcome, Timer> byOutcome = new EnumMap<>(WaitOutcome.class);
            for (WaitOutcome outcome : WaitOutcome.values()) {
                byOutcome.put(outcome, Timer.builder("woslo.lock.waits")
                        .tag("mode", mode).tag("outcome", outcome.label())
                        .description("attempts that found the lock held and waited, by how the wait ended")
                        .register(registry));
            }
            waits.put(policy, byOutcome);
        }
    }

    @Override
    public void acquired(LockPolicy policy) {
        acquisitions.get(policy).increment();
    }

    @Override
    public void waited(LockPolicy policy, WaitOutcome outcome, long nanos) {
        waits.get(policy).get(outcome).record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void lost(LockPolicy policy) {
        losses.get(policy).increment();
    }
}
