package io.woslo.coordinator;

import io.vertx.ext.web.RoutingContext;
import java.util.List;

/** Query parameters given at most once, each refusal naming the parameter and the value. */
final class Query {
    private Query() {
    }

    /** The one value of {@code name}, or null when it is absent; 400 when it is given more than once. */
    static String single(RoutingContext ctx, String name) {
        List<String> values = ctx.queryParam(name);
        if (values.size() > 1) {
            throw ApiException.badRequest("'" + name + "' is given " + values.size() + " times; give it once");
        }
        return values.isEmpty() ? null : values.get(0);
    }

    /** {@code name=true} or {@code name=false} (absent: false); 400 for any other value. */
    static boolean flag(RoutingContext ctx, String name) {
        String value = single(ctx, name);
        if (value == null || value.equals("false")) {
            return false;
        }
        if (value.equals("true")) {
            return true;
        }
        throw ApiException.badRequest("'" + name + "' must be true or false, got '" + value + "'");
    }
}
