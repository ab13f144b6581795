package io.woslo.quota;

/** A reservation would take a resource over the account's quota. Nothing was reserved. */
public class QuotaExceededException extends QuotaException {
    private static final long serialVersionUID = 1L;

    private final String account;
    private final String resource;
    private final long requested;
    private final long used;
    private final long quota;

    public QuotaExceededException(String account, String resource, long requested, long used, long quota) {
        super("quota exceeded for account '" + account + "', resource '" + resource + "': requested " + requested
                + ", used " + used + " of " + quota);
        this.account = account;
        this.resource = resource;
        this.requested = requested;
        this.used = used;
        this.quota = quota;
    }

    public String account() {
        return account;
    }

    /** The first resource of the requirement that is short. */
    public String resource() {
        return resource;
    }

    /** The amount asked for that resource. */
    public long requested() {
        return requested;
    }

    /** The amount in use (reservations included) when the request was refused. */
    public long used() {
        return used;
    }

    /** The account's quota of that resource. */
    public long quota() {
        return quota;
    }
}
