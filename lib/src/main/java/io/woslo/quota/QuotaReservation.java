package io.woslo.quota;

import io.woslo.internal.Acquisition;
import io.woslo.internal.Futures;
import io.woslo.internal.OutcomeUnknownException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/** A reservation made by {@link QuotaManager}: its amounts and the account's read lock, each given back once. */
final class QuotaReservation implements Reservation {
    private final HeldReservations held;
    private final String account;
    private final Map<String, Long> amounts;
    /** The account's read lock, replaced when an extension moves it to a lease of its own; null for a no-op. */
    private final java.util.concurrent.atomic.AtomicReference<Acquisition> readLock;
    private final long reservedAtMillis;
    private final AtomicBoolean rolledBack = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    QuotaReservation(HeldReservations held, Reserved reserved) {
        this(held, reserved.account(), reserved.amounts(), reserved.lock(), reserved.reservedAtMillis());
    }

    /** A reservation of {@code amounts}, or one that changed nothing when {@code readLock} is null. */
    private QuotaReservation(HeldReservations held, String account, Map<String, Long> amounts, Acquisition readLock,
                             long reservedAtMillis) {
        this.held = held;
        this.account = account;
        this.amounts = Map.copyOf(amounts);
        this.readLock = new java.util.concurrent.atomic.AtomicReference<>(readLock);
        this.reservedAtMillis = reservedAtMillis;
    }

    static QuotaReservation noop(HeldReservations held, String account) {
        return new QuotaReservation(held, account, Map.of(), null, 0);
    }

    @Override
    public String account() {
        return account;
    }

    @Override
    public Map<String, Long> amounts() {
        return amounts;
    }

    @Override
    public void rollback() {
        Failures.join(rollbackAsync());
    }

    @Override
    public CompletableFuture<Void> rollbackAsync() {
        if (readLock.get() == null || !rolledBack.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        // While the read lock is held no refresh can run, so nothing is skipped, and the change is fenced by that
        // lock; after close, counters refreshed since the reservation already reflect the truth and are left alone.
        Acquisition lock = closed.get() ? null : readLock.get();
        // A rollback that surely did not apply may be tried again; one whose outcome is unknown may not. The caller
        // gets deliverChange's own future, so that an interrupt tells "not applied" from "unknown".
        return held.change("the rollback of " + this, call -> held
                .rollback(account, amounts, reservedAtMillis, lock, call)
                .whenComplete((v, error) -> {
                    if (error != null && !(Futures.unwrap(error) instanceof OutcomeUnknownException)) {
                        rolledBack.set(false);
                    }
                }));
    }

    @Override
    public void close() {
        Failures.join(closeAsync());
    }

    @Override
    public CompletableFuture<Void> closeAsync() {
        if (readLock.get() == null || !closed.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        // Not bounded by a deadline of its own: the release is (by the operation timeout), and it never fails; a lock
        // entry that could not be removed ends with its lease.
        return held.delivery().handOff(held.close(readLock.get()));
    }

    @Override
    public void commit(Map<String, Long> actual) {
        Failures.join(commitAsync(actual));
    }

    @Override
    public CompletableFuture<Void> commitAsync(Map<String, Long> actual) {
        if (readLock.get() == null) {
            if (actual == null) {
                throw new IllegalArgumentException("the amounts kept of " + this + " must not be null");
            }
            return CompletableFuture.completedFuture(null); // it reserved nothing, so nothing goes back
        }
        Map<String, Long> giveBack = Requirements.givenBack("the reservation " + this, amounts, actual);
        if (rolledBack.get() || !closed.compareAndSet(false, true)) {
            throw new IllegalStateException(this + " has already ended (closed, committed or rolled back)");
        }
        rolledBack.set(true);
        // A commit that surely did not apply leaves the reservation as it was: it may be committed again (or closed).
        return held.change("the commit of " + this, call -> held
                .commit(account, giveBack, readLock.get(), reservedAtMillis, call)
                .whenComplete((v, error) -> {
                    if (error != null && !(Futures.unwrap(error) instanceof OutcomeUnknownException)) {
                        rolledBack.set(false);
                        closed.set(false);
                    }
                }));
    }

    @Override
    public void extend(java.time.Duration duration) {
        Failures.join(extendAsync(duration));
    }

    @Override
    public CompletableFuture<Void> extendAsync(java.time.Duration duration) {
        Requirements.extension(duration, ReservationIds.MAX_EXTENSION);
        Acquisition lock = readLock.get();
        if (lock == null) {
            return CompletableFuture.completedFuture(null);
        }
        if (closed.get()) {
            throw new IllegalStateException(this + " has already ended");
        }
        return held.delivery().deliver(held.extend(lock, duration).thenAccept(moved -> readLock.set(moved)),
                "the extension of " + this, null);
    }

    @Override
    public String toString() {
        return "Reservation[" + account + " " + amounts + "]";
    }
}
