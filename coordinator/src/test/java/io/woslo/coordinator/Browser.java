package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.woslo.testing.TestTimeouts;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * One headless Chromium for a test class: Debian's {@code /usr/bin/chromium} driven through the system's
 * {@code /usr/bin/chromedriver} (both installed by {@code scripts/install-browser.sh}; {@code WOSLO_CHROMIUM} and
 * {@code WOSLO_CHROMEDRIVER} name others). Both paths are given to Selenium, so Selenium Manager is never asked to
 * find, let alone download, a browser or a driver; the failsafe run also points {@code SE_MANAGER_PATH} at a file
 * that does not exist, so any call to it would fail the test instead of reaching the network. A missing browser
 * fails the test class with a message saying how to install it; it is never skipped.
 */
final class Browser implements AutoCloseable {
    static final Path SCREENSHOTS = Path.of("target", "ui-screenshots");
    private static final Duration POLL = Duration.ofMillis(50);

    private final Path profile;
    private final ChromeDriverService service;
    private final ChromeDriver driver;

    private Browser(Path profile, ChromeDriverService service, ChromeDriver driver) {
        this.profile = profile;
        this.service = service;
        this.driver = driver;
    }

    static Browser start() {
        Path chromium = Path.of(env("WOSLO_CHROMIUM", "/usr/bin/chromium"));
        Path chromedriver = Path.of(env("WOSLO_CHROMEDRIVER", "/usr/bin/chromedriver"));
        for (Path binary : List.of(chromium, chromedriver)) {
            assertThat(Files.isExecutable(binary))
                    .as("the browser tests need " + binary + " (Debian's chromium and chromium-driver): run "
                            + "scripts/install-browser.sh, or set WOSLO_CHROMIUM / WOSLO_CHROMEDRIVER")
                    .isTrue();
        }
        try {
            Path profile = Files.createTempDirectory("woslo-chromium-");
            ChromeOptions options = new ChromeOptions();
            options.setBinary(chromium.toFile());
            options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,900", "--user-data-dir=" + profile, "--no-first-run",
                    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-extensions", "--disable-default-apps", "--metrics-recording-only",
                    "--lang=en-US");
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(chromedriver.toFile())
                    .usingAnyFreePort()
                    .withLogFile(new File("target/chromedriver.log"))
                    .build();
            ChromeDriver driver = new ChromeDriver(service, options);
            driver.manage().timeouts().pageLoadTimeout(TestTimeouts.step()).scriptTimeout(TestTimeouts.step());
            return new Browser(profile, service, driver);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }

    WebDriver driver() {
        return driver;
    }

    void open(String url) {
        driver.get(url);
    }

    WebElement find(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    List<WebElement> findAll(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    /** Waits (at most a test step) until {@code condition} gives a non-null, non-false value. */
    <T> T await(String what, Function<WebDriver, T> condition) {
        return await(what, TestTimeouts.step(), condition);
    }

    <T> T await(String what, Duration bound, Function<WebDriver, T> condition) {
        WebDriverWait wait = new WebDriverWait(driver, bound, POLL);
        wait.withMessage(what);
        // the page redraws a view whenever the server reports a change: an element found a moment ago may be gone
        wait.ignoring(StaleElementReferenceException.class);
        return wait.until(condition);
    }

    /** The text of the element at {@code css}, read from the page as it is now (waits for it to exist). */
    String text(String css) {
        return await(css + " can be read", d -> d.findElement(By.cssSelector(css)).getText());
    }

    /** Clicks the element at {@code css} (found again if the page redrew it in between). */
    void click(String css) {
        await(css + " can be clicked", d -> {
            d.findElement(By.cssSelector(css)).click();
            return true;
        });
    }

    /** Waits until the element at {@code css} exists and its text equals {@code text}. */
    void awaitText(String css, String text) {
        await(css + " reads \"" + text + "\"", d -> d.findElements(By.cssSelector(css)).stream()
                .anyMatch(e -> text.equals(e.getText())));
    }

    void awaitPresent(String css) {
        await(css + " is on the page", d -> !d.findElements(By.cssSelector(css)).isEmpty());
    }

    void awaitAbsent(String css) {
        await(css + " is gone from the page", d -> d.findElements(By.cssSelector(css)).isEmpty());
    }

    /** A PNG of the window under {@code target/ui-screenshots/<name>.png}. */
    Path screenshot(String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            Path file = SCREENSHOTS.resolve(name + ".png");
            Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            driver.quit();
        } finally {
            service.stop();
            deleteTree(profile);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
