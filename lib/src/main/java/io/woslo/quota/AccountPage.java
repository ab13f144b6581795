package io.woslo.quota;

import java.util.List;

/**
 * One page of {@link QuotaAccounts#listAsync(String, int, String)}.
 *
 * @param accounts the accounts of the page, sorted by name
 * @param next the name to pass as {@code after} for the next page, or null when this page is the last
 */
public record AccountPage(List<AccountState> accounts, String next) {
    public AccountPage {
        accounts = List.copyOf(accounts);
    }
}
