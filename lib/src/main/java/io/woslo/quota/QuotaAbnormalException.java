package io.woslo.quota;

/** A release ({@code cleanUsed}, a rollback) would take a counter below zero. Nothing was changed. */
public class QuotaAbnormalException extends QuotaException {
    private static final long serialVersionUID = 1L;

    private final String account;
    private final String resource;
    private final long used;
    private final long released;

    public QuotaAbnormalException(String account, String resource, long used, long released) {
        super("releasing " + released + " of resource '" + resource + "' for account '" + account
                + "' would take its counter below zero (used " + used + "); nothing was changed");
        this.account = account;
        this.resource = resource;
        this.used = used;
        this.released = released;
    }

    public String account() {
        return account;
    }

    public String resource() {
        return resource;
    }

    /** The counter's value when the release was refused. */
    public long used() {
        return used;
    }

    /** The amount the caller asked to release. */
    public long released() {
        return released;
    }
}
