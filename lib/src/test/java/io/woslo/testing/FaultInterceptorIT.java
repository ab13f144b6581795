package io.woslo.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Each client-side fault of {@link FaultInterceptor} against a real etcd: what the caller sees, what etcd has. */
@WithEtcd(members = 1)
class FaultInterceptorIT {
    private final String prefix = "/interceptor-" + UUID.randomUUID() + "/";
    private final FaultInterceptor faults = new FaultInterceptor();

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, UTF_8);
    }

    private static long keys(Client client, String key) throws Exception {
        return client.getKVClient().get(bytes(key)).get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)
                .getCount();
    }

    @Test
    void aLostReplyTimesOutForTheCallerButTheWriteIsInEtcd(EtcdCluster etcd, Client observer) throws Exception {
        Client faulty = etcd.newClient(faults);
        String key = prefix + "lost";
        FaultInterceptor.Fault lost = faults.loseReply(FaultInterceptor.KV_PUT, 1);

        CompletableFuture<?> put = faulty.getKVClient().put(bytes(key), bytes("v"));

        assertThat(lost.awaitInjected(1, TestTimeouts.step())).as("etcd answered the put").isTrue();
        assertThatThrownBy(() -> put.get(1, TimeUnit.SECONDS)).isInstanceOf(TimeoutException.class);
        assertThat(keys(observer, key)).as("the put was applied").isEqualTo(1);
        assertThat(faults.injected().get(FaultInterceptor.Kind.LOSE_REPLY)).isEqualTo(1);
        faulty.getKVClient().put(bytes(key + "2"), bytes("v")).get(TestTimeouts.step().toMillis(),
                TimeUnit.MILLISECONDS); // one shot: the next put is answered
    }

    @Test
    void aHeldCallReachesEtcdOnlyWhenReleased(EtcdCluster etcd, Client observer) throws Exception {
        Client faulty = etcd.newClient(faults);
        String key = prefix + "held";
        FaultInterceptor.Fault held = faults.hold(FaultInterceptor.KV_PUT, 1);

        CompletableFuture<?> put = faulty.getKVClient().put(bytes(key), bytes("v"));

        assertThat(held.awaitInjected(1, TestTimeouts.step())).isTrue();
        assertThat(put).isNotDone();
        assertThat(keys(observer, key)).as("not sent while held").isZero();
        held.release();
        put.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        assertThat(keys(observer, key)).isEqualTo(1);
    }

    @Test
    void aDelayedReplyArrivesLate(EtcdCluster etcd) throws Exception {
        Client faulty = etcd.newClient(faults);
        Duration delay = Duration.ofMillis(700);
        FaultInterceptor.Fault late = faults.delayReply(FaultInterceptor.KV_RANGE, delay, 2);

        for (int i = 0; i < 3; i++) {
            long started = System.nanoTime();
            keys(faulty, prefix + "late");
            long took = System.nanoTime() - started;
            if (i < 2) {
                assertThat(took).as("call %d", i).isGreaterThanOrEqualTo(delay.toNanos());
            }
        }
        assertThat(late.injected()).isEqualTo(2);
    }

    @Test
    void aBrokenWatchStreamIsAnErrorAndTheClientResubscribes(EtcdCluster etcd, Client observer) throws Exception {
        Client faulty = etcd.newClient(faults);
        String key = prefix + "watched";
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        CountDownLatch errored = new CountDownLatch(1);
        CountDownLatch first = new CountDownLatch(1);
        CountDownLatch second = new CountDownLatch(1);
        Watch.Listener listener = Watch.listener((WatchResponse response) -> {
            for (WatchEvent event : response.getEvents()) {
                String value = event.getKeyValue().getValue().toString(UTF_8);
                (value.equals("1") ? first : second).countDown();
            }
        }, error -> {
            errors.add(error);
            errored.countDown();
        });
        long revision = observer.getKVClient().put(bytes(key), bytes("1")).get().getHeader().getRevision();
        try (Watch.Watcher watcher = faulty.getWatchClient().watch(bytes(key),
                io.etcd.jetcd.options.WatchOption.builder().withRevision(revision).build(), listener)) {
            assertThat(first.await(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();

            FaultInterceptor.Fault broken = faults.breakWatch(1);

            assertThat(broken.injected()).as("the open stream was broken at once").isEqualTo(1);
            assertThat(errored.await(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();
            assertThat(errors.get(0)).isInstanceOfSatisfying(io.etcd.jetcd.common.exception.EtcdException.class,
                    e -> assertThat(e.getErrorCode()).isEqualTo(io.etcd.jetcd.common.exception.ErrorCode.UNAVAILABLE));
            observer.getKVClient().put(bytes(key), bytes("2")).get();
            assertThat(second.await(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS))
                    .as("the watcher re-subscribed and sees later events").isTrue();
        }
    }

    /**
     * A watch listener that, while handling an event, needs the watch client (as a lock waiter does when it watches
     * its next blocker), and another thread that closes a watcher at that moment (it holds the watch client's lock
     * while it cancels the stream): the interceptor must not hold a lock of its own across the listener call, or
     * the two wait for each other forever. Found as a hung RandomizedFaultsIT.
     */
    @Test
    void aListenerThatWatchesAgainWhileAnotherThreadClosesTheWatcherDoesNotDeadlock(EtcdCluster etcd)
            throws Exception {
        Client faulty = etcd.newClient(faults);
        Watch watchClient = faulty.getWatchClient();
        String key = prefix + "deadlock";
        AtomicReference<Watch.Watcher> watcher = new AtomicReference<>();
        Thread closer = new Thread(() -> watcher.get().close(), "closer");
        CountDownLatch inListener = new CountDownLatch(1);
        CompletableFuture<Void> listenerDone = new CompletableFuture<>();
        // the put first, and the watch from its revision: the event is replayed whenever the watch is set up
        long revision = faulty.getKVClient().put(bytes(key), bytes("v"))
                .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getHeader().getRevision();
        watcher.set(watchClient.watch(bytes(key), WatchOption.builder().withRevision(revision).build(), response -> {
            if (inListener.getCount() == 0) {
                return;
            }
            inListener.countDown();
            // the closer is inside close(), holding the watch client's lock (blocked on the stream), or done
            Await.until("the closer to be inside close()",
                    () -> closer.getState() == Thread.State.BLOCKED || closer.getState() == Thread.State.TERMINATED);
            watchClient.watch(bytes(key + "/next"), next -> { }).close(); // takes the watch client's lock
            listenerDone.complete(null);
        }));
        assertThat(inListener.await(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS)).isTrue();

        closer.start();

        closer.join(TestTimeouts.step().toMillis());
        assertThat(closer.isAlive()).as("the watcher's close() returned").isFalse();
        listenerDone.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
    }
}
