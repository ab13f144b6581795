package io.woslo.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.woslo.lock.DistributedLock;
import io.woslo.lock.RwLocks;
import io.woslo.quota.QuotaKeys;
import io.woslo.testing.EtcdCluster;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.net.URLEncoder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.WebElement;

/**
 * The operator console at {@code GET /ui/} in a real headless Chromium, against a coordinator with a bearer token
 * over real etcd. One browser for the whole class (Chromium's start is the slow part).
 */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleBrowserIT {
    private static final String TOKEN = "console-s3cret";
    private static final String HOSTILE = "<img src=x onerror=alert(1)>";
    /** The bound for a change made over HTTP to show up on an open page. */
    private static final Duration LIVE = Duration.ofSeconds(2);

    private final String namespace = TestCoordinators.freshNamespace("console");
    private Coordinator coordinator;
    private Http http;
    private Client raw;
    private Browser browser;

    @BeforeAll
    void start(EtcdCluster etcd) {
        coordinator = TestCoordinators.start(etcd, namespace, TOKEN, TestCoordinators.SEED_RESOURCES);
        http = new Http(coordinator.baseUrl()).withToken(TOKEN);
        raw = etcd.newClient();
        refresh("account1");
        browser = Browser.start();
    }

    @AfterAll
    void stop() {
        try {
            if (browser != null) {
                browser.close();
            }
        } finally {
            coordinator.close();
        }
    }

    @Test
    void thePageAsksForTheTokenAsksAgainWhenItIsWrongAndShowsTheDataWithTheRightOne() {
        browser.open(coordinator.baseUrl() + "/health/live");
        ((JavascriptExecutor) browser.driver()).executeScript("sessionStorage.clear()");
        browser.open(coordinator.baseUrl() + "/ui/");

        browser.await("the token form is shown", d -> browser.find("#token-view").isDisplayed());
        assertThat(browser.find("#main").isDisplayed()).as("no data view without a token").isFalse();
        assertThat(browser.findAll("#accounts tr")).isEmpty();
        browser.screenshot("token");

        enterToken("not-the-token");
        browser.await("the wrong token is refused and asked again", d -> browser.find("#token-view").isDisplayed()
                && browser.find("#token-reason").getText().contains("refused"));
        assertThat(browser.findAll("#accounts tr[data-account]")).isEmpty();

        enterToken(TOKEN);
        browser.awaitPresent("#accounts tr[data-account='account1']");
        assertThat(browser.find("#token-view").isDisplayed()).isFalse();
        assertThat(browser.text("#accounts tr[data-account='account1'] .resources"))
                .contains("CPUA 10/20").contains("CPUD 20/20");
        assertThat(browser.driver().getCurrentUrl()).doesNotContain(TOKEN);
        assertThat(sessionToken()).isEqualTo(TOKEN);
        browser.screenshot("accounts");
    }

    @Test
    void theDemoAccountShowsTheFiguresEtcdHolds() {
        openSignedIn("#/accounts/account1");
        for (String resource : List.of("CPUA", "CPUB", "CPUC", "CPUD")) {
            JsonNode counter = TestCoordinators.counter(raw, namespace, "account1", resource);
            browser.awaitText("tr[data-resource='" + resource + "'] td.used", counter.get("used").asText());
            assertThat(browser.text("tr[data-resource='" + resource + "'] td.quota"))
                    .isEqualTo(counter.get("quota").asText());
        }
        assertThat(browser.text("#account-name")).isEqualTo("account1");
        browser.screenshot("account");
    }

    @Test
    void aReservationMadeOverHttpAppearsWithinTwoSecondsAndGoesWhenFinished() {
        refresh("live");
        openSignedIn("#/accounts/live");
        browser.awaitPresent("#reservations tr.empty");
        browser.awaitPresent("#live.on");

        String id = reserve("live", "{\"CPUA\":1,\"CPUB\":2}");
        String row = "#reservations tr[data-reservation='" + id + "']";
        browser.await("reservation " + id + " appears within " + LIVE, LIVE,
                d -> !d.findElements(By.cssSelector(row)).isEmpty());
        assertThat(browser.text(row + " .amounts")).isEqualTo("CPUA 1, CPUB 2");
        browser.awaitText("tr[data-resource='CPUA'] td.used", "11");
        browser.screenshot("account-reservation");

        assertThat(http.post("/v1/reservations/" + id + "/finally").status()).isEqualTo(204);
        browser.await("reservation " + id + " disappears within " + LIVE, LIVE,
                d -> d.findElements(By.cssSelector(row)).isEmpty());
    }

    @Test
    void rollingBackFromThePageAsksFirstThenGivesTheAmountsBack() {
        refresh("undo");
        openSignedIn("#/accounts/undo");
        browser.awaitPresent("#live.on");
        String id = reserve("undo", "{\"CPUB\":5}");
        String row = "#reservations tr[data-reservation='" + id + "']";
        browser.awaitPresent(row);

        browser.click(row + " button.rollback");
        awaitDialog();
        assertThat(browser.text("#confirm-text")).contains(id).contains("CPUB 5").contains("back");
        browser.click("#confirm-cancel");
        awaitNoDialog();
        assertThat(http.get("/v1/reservations/" + id).status()).as("cancel changes nothing").isEqualTo(200);

        browser.click(row + " button.rollback");
        awaitDialog();
        browser.click("#confirm-ok");
        browser.awaitAbsent(row);
        assertThat(http.get("/v1/reservations/" + id).status()).isEqualTo(404);
        assertThat(TestCoordinators.counter(raw, namespace, "undo", "CPUB").get("used").asLong()).isZero();
    }

    @Test
    void aRefreshFromThePageUpdatesTheCounters() {
        refresh("stale");
        ObjectNode counter = (ObjectNode) TestCoordinators.counter(raw, namespace, "stale", "CPUA");
        counter.put("used", 15);
        put(QuotaKeys.counter(namespace, "stale", "CPUA"), counter.toString());

        openSignedIn("#/accounts/stale");
        browser.awaitText("tr[data-resource='CPUA'] td.used", "15");

        browser.click("#refresh");
        awaitDialog();
        assertThat(browser.text("#confirm-text")).contains("stale").contains("sources");
        browser.click("#confirm-ok");
        browser.awaitText("tr[data-resource='CPUA'] td.used", "10");
        assertThat(TestCoordinators.counter(raw, namespace, "stale", "CPUA").get("used").asLong()).isEqualTo(10);
    }

    @Test
    void checkSourcesListsTheMismatchesFirst() {
        refresh("aaa-in-step");
        refresh("zzz-drifted");
        ObjectNode counter = (ObjectNode) TestCoordinators.counter(raw, namespace, "zzz-drifted", "CPUB");
        counter.put("used", 3);
        put(QuotaKeys.counter(namespace, "zzz-drifted", "CPUB"), counter.toString());

        openSignedIn("#/");
        browser.awaitPresent("#accounts tr[data-account='zzz-drifted']");
        browser.click("#check-sources");
        browser.awaitText("#accounts tr[data-account='zzz-drifted'] .flags", "mismatch");
        List<String> order = browser.await("the list's rows", d -> d.findElements(By.cssSelector("#accounts tr"))
                .stream().map(row -> row.getDomAttribute("data-account") + (row.getDomAttribute("class")
                        .contains("problem") ? " !" : "")).toList());
        assertThat(order).contains("zzz-drifted !", "aaa-in-step");
        assertThat(order.indexOf("zzz-drifted !")).isLessThan(order.indexOf("aaa-in-step"));
        int lastProblem = 0;
        for (int i = 0; i < order.size(); i++) {
            if (order.get(i).endsWith(" !")) {
                lastProblem = i;
            }
        }
        assertThat(order.subList(0, lastProblem + 1)).as("every flagged account comes before the others")
                .allMatch(name -> name.endsWith(" !"));
        browser.screenshot("accounts-checked");
    }

    @Test
    void anAccountNamedLikeMarkupIsShownAsText() {
        refresh(HOSTILE);
        openSignedIn("#/");
        WebElement search = browser.find("#search");
        search.clear();
        search.sendKeys("onerror");
        String row = "#accounts tr[data-account='" + HOSTILE + "']";
        browser.awaitPresent(row);
        assertThat(browser.findAll("#accounts tr[data-account]")).hasSize(1);
        assertThat(browser.text(row + " a.name")).isEqualTo(HOSTILE);
        assertNoMarkupRan();
        browser.screenshot("accounts-markup-name");

        browser.click(row + " a.name");
        browser.awaitText("#account-name", HOSTILE);
        browser.awaitText("tr[data-resource='CPUA'] td.used", "10");
        assertThat(browser.driver().getCurrentUrl()).endsWith("#/accounts/" + encodeComponent(HOSTILE));
        assertThat(browser.text("#lock-link")).isEqualTo("quota/" + HOSTILE);
        assertNoMarkupRan();
    }

    @Test
    void forceReleaseAsksFirstAndThenFreesTheLockForTheWaitingWriter() throws Exception {
        String key = "jobs/nightly";
        try (RwLocks locks = RwLocks.builder(raw).namespace(namespace).build()) {
            DistributedLock holder = locks.writeLock(key, 1, Duration.ofSeconds(60));
            holder.lock();
            DistributedLock waiter = locks.writeLock(key, 2, Duration.ofSeconds(60));
            CompletableFuture<Void> acquired = CompletableFuture.runAsync(waiter::lock);

            openSignedIn("#/locks/" + encodeComponent(key));
            browser.awaitText("#lock-name", key);
            browser.awaitText(".waiters td.owner", "2");
            browser.awaitText(".holders td.owner", "1");
            String entry = browser.await("the holder's entry name",
                    d -> d.findElement(By.cssSelector(".holders tr.holder")).getDomAttribute("data-entry"));
            assertThat(browser.text(".holders tr.holder td.mode")).isEqualTo("write");
            browser.screenshot("lock");

            browser.click(".holders tr.holder button.force-release");
            awaitDialog();
            assertThat(browser.text("#confirm-text")).contains(entry).contains(key)
                    .contains("not asked").contains("lost()").contains("fencing");
            browser.screenshot("lock-force-release");
            browser.click("#confirm-cancel");
            awaitNoDialog();
            JsonNode lock = http.get("/v1/locks/" + encodeComponent(key)).json();
            assertThat(lock.get("holders").get(0).get("entry").asText()).as("cancel leaves the entry").isEqualTo(entry);
            assertThat(holder.isHeld()).isTrue();
            assertThat(acquired).isNotDone();

            browser.click(".holders tr[data-entry='" + entry + "'] button.force-release");
            awaitDialog();
            browser.click("#confirm-ok");
            acquired.get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
            holder.lost().get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
            browser.awaitAbsent(".holders tr[data-entry='" + entry + "']");
            browser.awaitText(".holders td.owner", "2");
            browser.awaitAbsent(".waiters tr");
            waiter.unlock();
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    private void refresh(String account) {
        assertThat(http.post("/used_quota?account=" + encodeComponent(account)).status()).isEqualTo(204);
    }

    private String reserve(String account, String resources) {
        Http.Response created = http.postJson("/v1/reservations",
                "{\"account\":\"" + account + "\",\"resources\":" + resources + "}");
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        return created.json().get("id").asText();
    }

    private void put(String key, String value) {
        try {
            raw.getKVClient().put(ByteSequence.from(key, UTF_8), ByteSequence.from(value, UTF_8))
                    .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("raw etcd put of " + key + " failed", e);
        }
    }

    /**
     * Opens the page at {@code hash} with the token already in the tab's session storage (put there from another
     * page of the same origin that runs no script of its own, so the console loads afresh and finds it).
     */
    private void openSignedIn(String hash) {
        browser.open(coordinator.baseUrl() + "/health/live");
        ((JavascriptExecutor) browser.driver()).executeScript(
                "sessionStorage.setItem('woslo.token', arguments[0])", TOKEN);
        browser.open(coordinator.baseUrl() + "/ui/" + hash);
        assertThat(browser.find("#token-view").isDisplayed()).isFalse();
    }

    private String sessionToken() {
        return (String) ((JavascriptExecutor) browser.driver()).executeScript(
                "return sessionStorage.getItem('woslo.token')");
    }

    private void enterToken(String token) {
        WebElement input = browser.find("#token-input");
        input.clear();
        input.sendKeys(token);
        browser.click("#token-submit");
    }

    private void awaitDialog() {
        browser.await("the confirmation dialog is open", d -> browser.find("#confirm").getDomAttribute("open") != null);
    }

    private void awaitNoDialog() {
        browser.await("the confirmation dialog is closed",
                d -> browser.find("#confirm").getDomAttribute("open") == null);
    }

    /** No image element was made from a name and no alert opened (a name's onerror would have opened one). */
    private void assertNoMarkupRan() {
        assertThat(browser.findAll("img")).isEmpty();
        assertThatThrownBy(() -> browser.driver().switchTo().alert()).isInstanceOf(NoAlertPresentException.class);
    }

    private static String encodeComponent(String name) {
        // what the page's encodeURIComponent makes of these names: space as %20, the rest as URLEncoder does
        return URLEncoder.encode(name, UTF_8).replace("+", "%20").replace("%28", "(").replace("%29", ")");
    }
}
