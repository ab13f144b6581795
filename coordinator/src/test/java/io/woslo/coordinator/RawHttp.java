package io.woslo.coordinator;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.woslo.testing.TestTimeouts;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 written by hand on a socket, for requests a well-behaved client will not send (no {@code Host}, invented
 * methods, a request that stops in the middle of its headers). One request per connection.
 */
final class RawHttp {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String host;
    private final int port;

    RawHttp(String baseUrl) {
        URI uri = URI.create(baseUrl);
        this.host = uri.getHost();
        this.port = uri.getPort();
    }

    /**
     * Sends {@code request} as it is and reads one response. For HEAD, the body is whatever the server sends before
     * it closes the connection (so send {@code Connection: close}): it should be nothing.
     */
    Response send(String request) {
        try (Socket socket = new Socket(host, port)) {
            socket.setSoTimeout((int) TestTimeouts.step().toMillis());
            socket.getOutputStream().write(request.getBytes(UTF_8));
            socket.getOutputStream().flush();
            return read(socket.getInputStream(), request.startsWith("HEAD "));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Sends {@code partial} and nothing more, then waits for the server to close the connection: true when it
     * closed it (with or without an answer) within {@link TestTimeouts#step()}, false when it kept it open.
     */
    boolean closedAfterSending(String partial) {
        try (Socket socket = new Socket(host, port)) {
            socket.setSoTimeout((int) TestTimeouts.step().toMillis());
            if (!partial.isEmpty()) {
                socket.getOutputStream().write(partial.getBytes(UTF_8));
                socket.getOutputStream().flush();
            }
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[4096];
            try {
                while (in.read(buffer) >= 0) {
                    // an answer (a 408, say) before the close is fine; wait for the close itself
                }
                return true;
            } catch (SocketTimeoutException e) {
                return false;
            }
        } catch (IOException e) {
            return true; // reset by the server: closed as well
        }
    }

    /**
     * Sends {@code start}, then one more byte of an unfinished header every {@code pace} until the server closes the
     * connection (true) or {@link TestTimeouts#step()} has passed (false). Waiting for the close between bytes paces
     * the trickle.
     */
    boolean closedWhileTrickling(String start, java.time.Duration pace) {
        long deadline = System.nanoTime() + TestTimeouts.step().toNanos();
        try (Socket socket = new Socket(host, port)) {
            socket.setSoTimeout((int) pace.toMillis());
            socket.getOutputStream().write(start.getBytes(UTF_8));
            InputStream in = socket.getInputStream();
            while (System.nanoTime() < deadline) {
                try {
                    if (in.read() < 0) {
                        return true;
                    }
                } catch (SocketTimeoutException stillOpen) {
                    socket.getOutputStream().write('x');
                    socket.getOutputStream().flush();
                }
            }
            return false;
        } catch (IOException e) {
            return true; // reset by the server: closed as well
        }
    }

    private static Response read(InputStream in, boolean head) throws IOException {
        String statusLine = line(in);
        if (statusLine == null) {
            throw new IOException("the connection closed without an answer");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (String line = line(in); line != null && !line.isEmpty(); line = line(in)) {
            int colon = line.indexOf(':');
            headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        String length = headers.get("content-length");
        if (head) {
            body.write(in.readAllBytes());
        } else if (length != null) {
            body.write(in.readNBytes(Integer.parseInt(length)));
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            for (int size = Integer.parseInt(line(in).trim(), 16); size > 0;
                    size = Integer.parseInt(line(in).trim(), 16)) {
                body.write(in.readNBytes(size));
                line(in);
            }
        }
        int status = Integer.parseInt(statusLine.split(" ", 3)[1]);
        return new Response(status, headers, body.toString(UTF_8));
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (b != '\r') {
                out.write(b);
            }
        }
        return b < 0 && out.size() == 0 ? null : out.toString(ISO_8859_1);
    }

    record Response(int status, Map<String, String> headers, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + body, e);
            }
        }

        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        @Override
        public String toString() {
            return status + " " + headers + " " + body;
        }
    }
}
