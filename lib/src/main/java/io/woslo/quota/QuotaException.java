package io.woslo.quota;

/** The base of the quota package's exceptions. */
public class QuotaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public QuotaException(String message) {
        super(message);
    }

    public QuotaException(String message, Throwable cause) {
        super(message, cause);
    }
}
