package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The operator console's static files: {@code GET /ui/<file>} from the class path's {@code ui/} directory (in the
 * jar: {@code src/main/resources/ui/}), {@code /ui/} being {@code index.html} and {@code /ui} redirected to
 * {@code /ui/}. The files are read once, when the server is built (so the event loop never reads the class path, and
 * no file outside {@code ui/} can be named). Served without the token (they carry no data), each with a strict
 * Content-Security-Policy (no inline script, nothing from another origin) and {@code X-Content-Type-Options: nosniff}.
 * GET and HEAD only; any other method is 405; an unknown file is the usual JSON 404.
 *
 * <p>The routes take every method and check it here (rather than through {@code HttpVerticle.endpoint}): they are
 * not part of the JSON API and stay out of {@code docs/openapi.yaml}, whose operations the tests match against the
 * router's method-bound routes.
 */
final class ConsolePage {
    static final String ROOT = "/ui";
    static final String CLASS_PATH_DIR = "ui";
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self';"
            + " img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none';"
            + " form-action 'self'; frame-ancestors 'none'";
    private static final List<HttpMethod> METHODS = List.of(HttpMethod.GET, HttpMethod.HEAD);
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "json", "application/json",
            "svg", "image/svg+xml",
            "png", "image/png",
            "ico", "image/x-icon",
            "txt", "text/plain; charset=utf-8");

    /** The files by their path under {@code ui/} ({@code app.js}, {@code img/logo.svg}). */
    private final Map<String, Buffer> files;

    private ConsolePage(Map<String, Buffer> files) {
        this.files = files;
    }

    /** Reads every file under the class path's {@code ui/} (blocking: call it off the event loop, once). */
    static ConsolePage load() {
        URL root = ConsolePage.class.getClassLoader().getResource(CLASS_PATH_DIR + "/index.html");
        if (root == null) {
            throw new IllegalStateException("the class path resource " + CLASS_PATH_DIR
                    + "/index.html is missing from the coordinator's jar");
        }
        try {
            URI uri = root.toURI();
            if ("jar".equals(uri.getScheme())) {
                try (FileSystem jar = FileSystems.newFileSystem(uri, Map.of())) {
                    return new ConsolePage(read(jar.provider().getPath(uri).getParent()));
                } catch (java.nio.file.FileSystemAlreadyExistsException open) {
                    return new ConsolePage(read(FileSystems.getFileSystem(uri).provider().getPath(uri).getParent()));
                }
            }
            return new ConsolePage(read(Path.of(uri).getParent()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the console's files", e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the console's files at " + root, e);
        }
    }

    private static Map<String, Buffer> read(Path dir) throws IOException {
        Map<String, Buffer> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                String name = dir.relativize(file).toString().replace(dir.getFileSystem().getSeparator(), "/");
                if (!name.startsWith(".") && !name.contains("/.")) {
                    try (InputStream in = Files.newInputStream(file)) {
                        out.put(name, Buffer.buffer(in.readAllBytes()));
                    }
                }
            }
        }
        return out;
    }

    /** The names of the files served, for tests and logs. */
    java.util.Set<String> names() {
        return files.keySet();
    }

    /** Whether a (normalized) path is one of the console's: open without the token. */
    static boolean isConsole(String normalizedPath) {
        return ROOT.equals(normalizedPath) || normalizedPath != null && normalizedPath.startsWith(ROOT + "/");
    }

    /** {@code /ui}: a redirect to {@code /ui/}. */
    Handler<RoutingContext> redirect() {
        return ctx -> {
            if (!ROOT.equals(ctx.normalizedPath())) {
                ctx.next(); // the route matches /ui/ too: that is a file
                return;
            }
            if (refused(ctx)) {
                return;
            }
            headers(ctx);
            ctx.response().setStatusCode(301).putHeader("Location", ROOT + "/").end();
        };
    }

    /** {@code /ui/*}: the files. */
    Handler<RoutingContext> files() {
        return ctx -> {
            if (refused(ctx)) {
                return;
            }
            String name = ctx.normalizedPath().substring(ROOT.length() + 1);
            Buffer file = files.get(name.isEmpty() ? "index.html" : name);
            if (file == null) {
                ctx.next(); // the usual 404
                return;
            }
            headers(ctx);
            ctx.response().putHeader("Content-Type", type(name.isEmpty() ? "index.html" : name))
                    .putHeader("Cache-Control", "no-cache")
                    .end(file);
        };
    }

    private static String type(String name) {
        int dot = name.lastIndexOf('.');
        return TYPES.getOrDefault(dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT),
                "application/octet-stream");
    }

    private static boolean refused(RoutingContext ctx) {
        if (METHODS.contains(ctx.request().method())) {
            return false;
        }
        ctx.fail(ApiException.methodNotAllowed(ctx.request().method().name(), ctx.normalizedPath(), METHODS));
        return true;
    }

    private static void headers(RoutingContext ctx) {
        ctx.response()
                .putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                .putHeader("X-Content-Type-Options", "nosniff")
                .putHeader("Referrer-Policy", "no-referrer")
                .putHeader("X-Frame-Options", "DENY");
    }
}
