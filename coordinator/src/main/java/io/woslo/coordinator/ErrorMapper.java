package io.woslo.coordinator;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.woslo.lock.LockUnavailableException;
import io.woslo.quota.IdempotencyKeyReusedException;
import io.woslo.quota.QuotaAbnormalException;
import io.woslo.quota.QuotaBusyException;
import io.woslo.quota.QuotaOutcomeUnknownException;
import io.woslo.quota.QuotaExceededException;
import io.woslo.quota.QuotaUnavailableException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place failures become HTTP answers, all as JSON {@code {"error":"<code>","message":"..."}}:
 *
 * <table>
 * <tr><td>{@link ApiException}</td><td>its own status (400, 401, 404, 415...)</td></tr>
 * <tr><td>{@link IllegalArgumentException} (the library's input checks)</td><td>400 bad_request</td></tr>
 * <tr><td>{@link QuotaExceededException}</td><td>409 quota_exceeded, with resource, requested, used, quota</td></tr>
 * <tr><td>{@link QuotaAbnormalException}</td><td>409 quota_abnormal, with resource, used, released</td></tr>
 * <tr><td>{@link IdempotencyKeyReusedException}</td><td>422 idempotency_key_reused, with the key; nothing
 * applied</td></tr>
 * <tr><td>{@link QuotaBusyException}</td><td>409 account_busy, with the account; nothing changed</td></tr>
 * <tr><td>{@link QuotaOutcomeUnknownException}</td><td>504 outcome_unknown, no Retry-After: the change may or may
 * not have been applied</td></tr>
 * <tr><td>{@link QuotaUnavailableException}, {@link LockUnavailableException} (the console's lock reads and
 * force-release)</td><td>503 unavailable, with Retry-After: nothing was applied</td></tr>
 * <tr><td>a bare status (413 from the body limit...)</td><td>that status</td></tr>
 * <tr><td>a failure Vert.x gave a 4xx status (no {@code Host}, a query it cannot decode)</td><td>that status, with
 * the reason</td></tr>
 * <tr><td>anything else</td><td>500 internal, logged, its message not shown</td></tr>
 * </table>
 */
final class ErrorMapper implements Handler<RoutingContext> {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorMapper.class);
    static final String RETRY_AFTER_SECONDS = "1";
    private static final int MAX_REFUSAL_CHARS = 200;

    @Override
    public void handle(RoutingContext ctx) {
        if (ctx.response().headWritten()) {
            ctx.response().reset();
            return;
        }
        Throwable failure = unwrap(ctx.failure());
        Map<String, Object> body = new LinkedHashMap<>();
        int status = describe(failure, ctx.statusCode(), body);
        if (status == 503) {
            ctx.response().putHeader("Retry-After", RETRY_AFTER_SECONDS);
        }
        if (failure instanceof ApiException e && e.allow() != null) {
            ctx.response().putHeader("Allow", e.allow());
        }
        if (status == 401) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
        }
        if (status >= 500 && status != 503) {
            LOG.error("{} {} failed", ctx.request().method(), ctx.request().path(), failure);
        }
        Replies.json(ctx, status, body);
    }

    /** Fills {@code body} with the error code, message and figures and returns the status. */
    static int describe(Throwable failure, int bareStatus, Map<String, Object> body) {
        if (failure instanceof ApiException e) {
            return put(body, e.status(), e.code(), e.getMessage());
        }
        if (failure instanceof IllegalArgumentException e) {
            return put(body, 400, "bad_request", e.getMessage());
        }
        if (failure instanceof QuotaExceededException e) {
            put(body, 409, "quota_exceeded", e.getMessage());
            body.put("resource", e.resource());
            body.put("requested", e.requested());
            body.put("used", e.used());
            body.put("quota", e.quota());
            return 409;
        }
        if (failure instanceof QuotaAbnormalException e) {
            put(body, 409, "quota_abnormal", e.getMessage());
            body.put("resource", e.resource());
            body.put("used", e.used());
            body.put("released", e.released());
            return 409;
        }
        if (failure instanceof IdempotencyKeyReusedException e) {
            put(body, 422, "idempotency_key_reused", e.getMessage());
            body.put("key", e.key());
            return 422;
        }
        if (failure instanceof QuotaBusyException e) {
            put(body, 409, "account_busy", e.getMessage());
            if (e.account() != null) {
                body.put("accounts", java.util.List.of(e.account()));
            }
            return 409;
        }
        if (failure instanceof QuotaOutcomeUnknownException) {
            return put(body, 504, "outcome_unknown", "etcd did not confirm the change in time; it may or may not have"
                    + " been applied. Check before retrying, or retry with the same Idempotency-Key");
        }
        if (failure instanceof QuotaUnavailableException || failure instanceof LockUnavailableException) {
            return put(body, 503, "unavailable", "etcd or a resource's source cannot be reached now; retry later");
        }
        if (failure != null && bareStatus >= 400 && bareStatus < 500) {
            // refused by Vert.x itself, with its reason (a request without Host, a query it cannot decode)
            int status = bare(bareStatus, body);
            body.put("message", refusal(failure, (String) body.get("message")));
            return status;
        }
        if (failure == null && bareStatus > 0) {
            return bare(bareStatus, body);
        }
        return put(body, 500, "internal", "internal error");
    }

    private static int bare(int bareStatus, Map<String, Object> body) {
        return switch (bareStatus) {
            case 413 -> put(body, 413, "payload_too_large", "the body is larger than "
                    + HttpVerticle.BODY_LIMIT_BYTES + " bytes");
            case 404 -> put(body, 404, "not_found", "no such endpoint");
            case 405 -> put(body, 405, "method_not_allowed", "method not allowed on this endpoint");
            case 415 -> put(body, 415, "unsupported_media_type", "the body must be application/json");
            default -> bareStatus < 500
                    ? put(body, bareStatus, "bad_request", "the request was refused")
                    : put(body, 500, "internal", "internal error");
        };
    }

    /** Why Vert.x refused a request: the first line of the deepest cause's message, or {@code otherwise}. */
    private static String refusal(Throwable failure, String otherwise) {
        Throwable cause = failure;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        String message = cause.getMessage();
        if (message == null || message.isBlank()) {
            return otherwise;
        }
        String line = message.lines().findFirst().orElse(otherwise);
        return line.length() <= MAX_REFUSAL_CHARS ? line : line.substring(0, MAX_REFUSAL_CHARS) + "...";
    }

    private static int put(Map<String, Object> body, int status, String code, String message) {
        body.put("error", code);
        body.put("message", message);
        return status;
    }

    static Throwable unwrap(Throwable error) {
        Throwable current = error;
        while ((current instanceof CompletionException || current instanceof ExecutionException)
                && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }
}
