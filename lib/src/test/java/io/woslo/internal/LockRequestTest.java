package io.woslo.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What the engine is asked for: defaults, the refused wait and the lease's TTL in whole seconds. No etcd. */
class LockRequestTest {

    @Test
    void aPlainRequestHasNoKeepAliveAndNoGuard() {
        LockRequest request = LockRequest.of("k", LockPolicy.READ, 7, Duration.ofSeconds(5), Duration.ZERO);

        assertThat(request.keepAlive()).isFalse();
        assertThat(request.guard()).isSameAs(EnqueueGuard.NONE);
        assertThat(request.withKeepAlive(true).keepAlive()).isTrue();
        assertThat(request.guardedBy(EnqueueGuard.NONE).policy()).isEqualTo(LockPolicy.READ);
    }

    @Test
    void aNegativeWaitIsRefusedWithTheValueInTheMessage() {
        assertThatThrownBy(() -> LockRequest.of("k", LockPolicy.WRITE, 1, Duration.ofSeconds(1),
                Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxWait")
                .hasMessageContaining("PT-0.001S");
    }

    @Test
    void theLeaseIsRoundedUpToWholeSecondsAndIsAtLeastOne() {
        assertThat(request(Duration.ofMillis(1)).ttlSeconds()).isEqualTo(1);
        assertThat(request(Duration.ofMillis(1000)).ttlSeconds()).isEqualTo(1);
        assertThat(request(Duration.ofMillis(1001)).ttlSeconds()).isEqualTo(2);
        assertThat(request(Duration.ofMinutes(1)).ttlSeconds()).isEqualTo(60);
    }

    private static LockRequest request(Duration leaseTime) {
        return LockRequest.of("k", LockPolicy.READ, 1, leaseTime, Duration.ZERO);
    }
}
