package io.woslo.coordinator;

/** A request the coordinator refuses itself (bad body, wrong content type, unknown route...), with its status. */
final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String code;

    ApiException(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
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
}
