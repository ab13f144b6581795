package io.woslo.coordinator;

import io.vertx.core.http.HttpMethod;
import java.util.Collection;
import java.util.stream.Collectors;

/** A request the coordinator refuses itself (bad body, wrong content type, unknown route...), with its status. */
final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String code;
    /** The methods a path takes, for the {@code Allow} header of a 405; null otherwise. */
    private final String allow;

    ApiException(int status, String code, String message) {
        this(status, code, message, null);
    }

    private ApiException(int status, String code, String message, String allow) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.allow = allow;
    }

    /** 405 for {@code method} on {@code path}, which takes only {@code methods}. */
    static ApiException methodNotAllowed(String method, String path, Collection<HttpMethod> methods) {
        String allow = methods.stream().map(HttpMethod::name).collect(Collectors.joining(", "));
        return new ApiException(405, "method_not_allowed", path + " does not take " + method + "; it takes " + allow,
                allow);
    }

    static ApiException badRequest(String message) {
        return new ApiException(400, "bad_request", message);
    }

    int status() {
        return status;
    }

    String code() {
        return code;
    }

    String allow() {
        return allow;
    }
}
