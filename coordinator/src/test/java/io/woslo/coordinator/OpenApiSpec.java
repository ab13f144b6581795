package io.woslo.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.Draft;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.JsonSchemaOptions;
import io.vertx.json.schema.OutputFormat;
import io.vertx.json.schema.OutputUnit;
import io.vertx.json.schema.SchemaRepository;
import io.vertx.json.schema.Validator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * {@code docs/openapi.yaml} read with Jackson's YAML module, and a checker of real answers against it: the status is
 * one the operation declares (no {@code default} is accepted), the headers it marks required are there, a response
 * without content has an empty body, the content type is a declared one, and a JSON body is valid against the
 * declared schema (JSON Schema 2020-12, the dialect of OpenAPI 3.1, by vertx-json-schema). Every JSON response
 * schema of the description must be a {@code $ref} to a named schema, so that its references resolve in the document.
 */
final class OpenApiSpec {
    static final Path DOCS_FILE = Path.of("..", "docs", "openapi.yaml");
    private static final String DOCUMENT_URI = "app:///openapi.json";
    private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "options", "head", "patch",
            "trace");

    private final JsonNode root;
    private final SchemaRepository schemas;
    private final Map<String, Validator> validators = new ConcurrentHashMap<>();

    private OpenApiSpec(JsonNode root) {
        this.root = root;
        JsonSchemaOptions options = new JsonSchemaOptions().setDraft(Draft.DRAFT202012).setBaseUri("app:///")
                .setOutputFormat(OutputFormat.Basic);
        this.schemas = SchemaRepository.create(options);
        schemas.dereference(DOCUMENT_URI, JsonSchema.of(new JsonObject(root.toString())));
    }

    static OpenApiSpec parse(byte[] yaml) {
        try {
            return new OpenApiSpec(new ObjectMapper(new YAMLFactory()).readTree(yaml));
        } catch (IOException e) {
            throw new UncheckedIOException("docs/openapi.yaml is not YAML", e);
        }
    }

    static OpenApiSpec load(Path file) {
        try {
            return parse(java.nio.file.Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    JsonNode root() {
        return root;
    }

    /** Every operation as {@code "GET /v1/reservations/{id}"}. */
    Set<String> operations() {
        Set<String> out = new TreeSet<>();
        root.path("paths").properties().forEach(path -> path.getValue().fieldNames().forEachRemaining(field -> {
            if (METHODS.contains(field)) {
                out.add(field.toUpperCase(Locale.ROOT) + " " + path.getKey());
            }
        }));
        return out;
    }

    /** Every {@code $ref} in the document that does not point at a node of it. */
    List<String> unresolvedReferences() {
        List<String> out = new ArrayList<>();
        collectReferences(root, out);
        return out.stream().filter(ref -> !ref.startsWith("#/") || root.at(ref.substring(1)).isMissingNode()).toList();
    }

    private static void collectReferences(JsonNode node, List<String> out) {
        if (node.isObject() && node.has("$ref")) {
            out.add(node.get("$ref").asText());
        }
        for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
            collectReferences(it.next(), out);
        }
    }

    /** Checks an answer of the operation {@code method} {@code template} (e.g. POST /v1/reservations/{id}/finally). */
    void check(String method, String template, int status, Function<String, String> header, String body) {
        String operation = method + " " + template;
        JsonNode declared = root.path("paths").path(template).path(method.toLowerCase(Locale.ROOT));
        if (declared.isMissingNode()) {
            throw new AssertionError(operation + " is not in the description");
        }
        JsonNode response = declared.path("responses").path(String.valueOf(status));
        if (response.isMissingNode()) {
            throw new AssertionError(operation + " answered " + status + ", which it does not declare: " + body);
        }
        checkResponse(operation + " " + status, resolve(response), header, body);
    }

    /** Checks an answer against {@code #/components/responses/<name>} (404 and 405, which no operation can own). */
    void checkComponent(String name, Function<String, String> header, String body) {
        JsonNode response = root.path("components").path("responses").path(name);
        if (response.isMissingNode()) {
            throw new AssertionError("no response " + name + " in the description's components");
        }
        checkResponse(name, response, header, body);
    }

    /** Checks a JSON value against {@code #/components/schemas/<name>}; returns the validator's errors. */
    List<String> errorsAgainst(String name, String json) {
        return errors(validator("#/components/schemas/" + name).validate(parseJson(json)));
    }

    private void checkResponse(String what, JsonNode response, Function<String, String> header, String body) {
        response.path("headers").properties().forEach(h -> {
            if (resolve(h.getValue()).path("required").asBoolean(false) && header.apply(h.getKey()) == null) {
                throw new AssertionError(what + " lacks its required header " + h.getKey());
            }
        });
        JsonNode content = response.path("content");
        if (content.isMissingNode()) {
            if (body != null && !body.isEmpty()) {
                throw new AssertionError(what + " declares no content but has a body: " + body);
            }
            return;
        }
        String type = header.apply("Content-Type");
        String mime = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        JsonNode media = content.path(mime);
        if (media.isMissingNode()) {
            throw new AssertionError(what + " has Content-Type '" + type + "'; declared: " + names(content));
        }
        if (!mime.equals("application/json")) {
            return;
        }
        String ref = media.path("schema").path("$ref").asText(null);
        if (ref == null) {
            throw new AssertionError(what + ": a JSON response schema must be a $ref to a named schema");
        }
        List<String> errors = errors(validator(ref).validate(parseJson(body)));
        if (!errors.isEmpty()) {
            throw new AssertionError(what + " body does not match " + ref + ": " + errors + "\nbody: " + body);
        }
    }

    private Validator validator(String ref) {
        return validators.computeIfAbsent(ref, r -> schemas.validator(
                JsonSchema.of(new JsonObject().put("$ref", DOCUMENT_URI + r))));
    }

    /** A {@code $ref} to a node of this document followed (once per hop), or the node itself. */
    private JsonNode resolve(JsonNode node) {
        JsonNode current = node;
        for (int hops = 0; current.has("$ref") && hops < 8; hops++) {
            String ref = current.get("$ref").asText();
            current = root.at(ref.substring(1));
            if (current.isMissingNode()) {
                throw new AssertionError("unresolved reference " + ref);
            }
        }
        return current;
    }

    private static Object parseJson(String body) {
        String text = body == null ? "" : body.trim();
        if (text.startsWith("{")) {
            return new JsonObject(text);
        }
        if (text.startsWith("[")) {
            return new JsonArray(text);
        }
        throw new AssertionError("not a JSON object or array: '" + body + "'");
    }

    private static List<String> errors(OutputUnit result) {
        if (Boolean.TRUE.equals(result.getValid())) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (result.getErrors() != null) {
            result.getErrors().forEach(e -> out.add(e.getInstanceLocation() + " " + e.getKeywordLocation() + ": "
                    + e.getError()));
        }
        if (out.isEmpty()) {
            out.add(String.valueOf(result.getError()));
        }
        return out;
    }

    private static String names(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return String.join(", ", out);
    }
}
