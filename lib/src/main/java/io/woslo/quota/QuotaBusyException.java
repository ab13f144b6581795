package io.woslo.quota;

/**
 * The account's lock could not be taken within the operation timeout: a refresh waited behind reservations that
 * stayed open, or a reservation waited behind a refresh. Nothing was changed and no lock is held; the call may be
 * retried later. Over HTTP it is 409 {@code account_busy}.
 */
public class QuotaBusyException extends QuotaException {
    private static final long serialVersionUID = 1L;

    private final String account;

    public QuotaBusyException(String account, String message, Throwable cause) {
        super(message, cause);
        this.account = account;
    }

    /** The account whose lock was busy. */
    public String account() {
        return account;
    }
}
