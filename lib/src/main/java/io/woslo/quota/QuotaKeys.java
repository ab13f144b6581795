package io.woslo.quota;

import io.woslo.internal.KeyLayout;

/**
 * The etcd keys of quota data, for tools that read them directly (a ledger-style handler, an operator's script).
 * Names are escaped as everywhere in WOSLO: percent-encoding with upper-case hex, RFC 3986 unreserved characters
 * kept, so {@code counter("/woslo", "a/b", "CPU")} is {@code /woslo/quota/a%2Fb/CPU}.
 */
public final class QuotaKeys {
    private QuotaKeys() {
    }

    /** {@code <namespace>/quota/<account>/<resource>}: the counter, JSON {@code {"used","quota","refreshedAt"}}. */
    public static String counter(String namespace, String account, String resource) {
        return new KeyLayout(namespace).quotaKey(KeyLayout.requireName("account", account),
                KeyLayout.requireName("resource", resource));
    }

    /** {@code <namespace>/accounts/<account>}: the account index entry. */
    public static String account(String namespace, String account) {
        return new KeyLayout(namespace).accountKey(KeyLayout.requireName("account", account));
    }
}
