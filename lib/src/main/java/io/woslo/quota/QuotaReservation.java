package io.woslo.quota;

import io.woslo.internal.Acquisition;
import io.woslo.internal.Futures;
import io.woslo.internal.OutcomeUnknownException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/** A reservation made by {@link QuotaManager}: its amounts and the account's read lock, each given back once. */
final class QuotaReservation implements Reservation {
    private final QuotaManager manager;
    private final String account;
    private final Map<String, Long> amounts;
    private final Acquisition readLock;
    private final long reservedAtMillis;
    private final AtomicBoolean rolledBack = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    QuotaReservation(QuotaManager manager, QuotaManager.Reserved reserved) {
        this(manager, reserved.account(), reserved.amounts(), reserved.lock(), reserved.reservedAtMillis());
    }

    /** A reservation of {@code amounts}, or one that changed nothing when {@code readLock} is null. */
    private QuotaReservation(QuotaManager manager, String account, Map<String, Long> amounts, Acquisition readLock,
                             long reservedAtMillis) {
        this.manager = manager;
        this.account = account;
        this.amounts = Map.copyOf(amounts);
        this.readLock = readLock;
        this.reservedAtMillis = reservedAtMillis;
    }

    static QuotaReservation noop(QuotaManager manager, String account) {
        return new QuotaReservation(manager, account, Map.of(), null, 0);
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
        QuotaManager.join(rollbackAsync());
    }

    @Override
    public CompletableFuture<Void> rollbackAsync() {
        if (readLock == null || !rolledBack.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        // While the read lock is held no refresh can run, so nothing is skipped, and the change is fenced by that
        // lock; after close, counters refreshed since the reservation already reflect the truth and are left alone.
        Acquisition lock = closed.get() ? null : readLock;
        // A rollback that surely did not apply may be tried again; one whose outcome is unknown may not. The caller
        // gets deliverChange's own future, so that an interrupt tells "not applied" from "unknown".
        return manager.deliverChange("the rollback of " + this, call -> manager
                .release(account, amounts, reservedAtMillis, lock, false, call, "rollback")
                .whenComplete((v, error) -> {
                    if (error != null && !(Futures.unwrap(error) instanceof OutcomeUnknownException)) {
                        rolledBack.set(false);
                    }
                }));
    }

    @Override
    public void close() {
        QuotaManager.join(closeAsync());
    }

    @Override
    public CompletableFuture<Void> closeAsync() {
        if (readLock == null || !closed.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        // Not bounded by a deadline of its own: the release is (by the operation timeout), and it never fails; a lock
        // entry that could not be removed ends with its lease.
        return manager.handOff(manager.unlock(readLock));
    }

    @Override
    public String toString() {
        return "Reservation[" + account + " " + amounts + "]";
    }
}
