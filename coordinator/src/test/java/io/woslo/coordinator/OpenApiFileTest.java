package io.woslo.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI description as a file: the copy in {@code docs/} is the one the coordinator serves, it is OpenAPI 3.1
 * with every reference resolved, and the checker that {@link OpenApiIT} runs real answers through does refuse what
 * the description does not allow (so its passes mean something).
 */
class OpenApiFileTest {
    private static final OpenApiSpec SPEC = OpenApiSpec.load(OpenApiSpec.DOCS_FILE);
    private static final String RESERVATION = "{\"id\":\"r1\",\"account\":\"a\",\"resources\":{\"CPUA\":1},"
            + "\"reservedAt\":1716543210123,\"expiresAt\":1716543270123}";

    @Test
    void theServedCopyIsTheDocsFile() throws IOException {
        assertThat(new String(OpenApiDocument.bytes(), java.nio.charset.StandardCharsets.UTF_8))
                .as("coordinator/src/main/resources/io/woslo/coordinator/openapi.yaml must equal docs/openapi.yaml")
                .isEqualTo(Files.readString(OpenApiSpec.DOCS_FILE));
    }

    @Test
    void isOpenApi31WithEveryReferenceResolved() {
        assertThat(SPEC.root().path("openapi").asText()).startsWith("3.1.");
        assertThat(SPEC.unresolvedReferences()).isEmpty();
        assertThat(SPEC.root().at("/components/securitySchemes/bearer/scheme").asText()).isEqualTo("bearer");
    }

    @Test
    void onlyTheHealthProbesAreOpenWithoutAToken() {
        assertThat(SPEC.root().path("security").toString()).isEqualTo("[{\"bearer\":[]}]");
        SPEC.root().path("paths").properties().forEach(path -> path.getValue().properties().forEach(op -> {
            JsonNode security = op.getValue().path("security");
            if (BearerAuth.isHealth(path.getKey())) {
                assertThat(security.toString()).as(path.getKey()).isEqualTo("[]");
            } else {
                assertThat(security.isMissingNode()).as(path.getKey() + " inherits the bearer requirement").isTrue();
            }
        }));
    }

    @Test
    void everyOperationDeclaresItsAnswers() {
        SPEC.root().path("paths").properties().forEach(path -> path.getValue().properties().forEach(op -> {
            JsonNode responses = op.getValue().path("responses");
            assertThat(responses.has("default")).as(path.getKey() + " has no catch-all response").isFalse();
            assertThat(responses.has("400") && responses.has("414") && responses.has("431") && responses.has("500"))
                    .as(path.getKey() + " " + op.getKey() + " declares 400, 414, 431 and 500").isTrue();
        }));
    }

    @Test
    void theCheckerAcceptsWhatTheDescriptionAllows() {
        assertThat(SPEC.errorsAgainst("Reservation", RESERVATION)).isEmpty();
        assertThat(SPEC.errorsAgainst("ReservationConflictError", "{\"error\":\"quota_exceeded\",\"message\":\"m\","
                + "\"resource\":\"CPUC\",\"requested\":3,\"used\":18,\"quota\":20}")).isEmpty();
        assertThat(SPEC.errorsAgainst("ReservationConflictError",
                "{\"error\":\"account_busy\",\"message\":\"m\",\"accounts\":[\"a\"]}")).isEmpty();
        SPEC.check("POST", "/v1/reservations", 201, Map.of("Location", "/v1/reservations/r1",
                "Content-Type", "application/json")::get, RESERVATION);
        SPEC.check("POST", "/v1/reservations/{id}/finally", 204, name -> null, "");
    }

    @Test
    void theCheckerRefusesWhatTheDescriptionDoesNotAllow() {
        assertThat(SPEC.errorsAgainst("Reservation", RESERVATION.replace(",\"expiresAt\":1716543270123", "")))
                .as("a required field missing").isNotEmpty();
        assertThat(SPEC.errorsAgainst("Reservation", RESERVATION.replace("1716543270123", "\"soon\"")))
                .as("a field of the wrong type").isNotEmpty();
        assertThat(SPEC.errorsAgainst("Reservation", RESERVATION.replace("{\"id\"", "{\"extra\":1,\"id\"")))
                .as("a field not described").isNotEmpty();
        assertThat(SPEC.errorsAgainst("Error", "{\"error\":\"teapot\",\"message\":\"m\"}"))
                .as("an error code not described").isNotEmpty();
        assertThat(SPEC.errorsAgainst("NotFoundError", "{\"error\":\"bad_request\",\"message\":\"m\"}"))
                .as("another code than the response's").isNotEmpty();
        assertThat(SPEC.errorsAgainst("ReservationConflictError",
                "{\"error\":\"quota_exceeded\",\"message\":\"m\",\"resource\":\"CPUC\"}"))
                .as("quota_exceeded without its figures").isNotEmpty();
        assertThatThrownBy(() -> SPEC.check("GET", "/v1/reservations/{id}", 409,
                Map.of("Content-Type", "application/json")::get, "{\"error\":\"account_busy\",\"message\":\"m\"}"))
                .as("a status the operation does not declare").isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> SPEC.check("POST", "/v1/reservations", 201,
                Map.of("Content-Type", "application/json")::get, RESERVATION))
                .as("a required header missing").hasMessageContaining("Location");
        assertThatThrownBy(() -> SPEC.check("GET", "/health", 200, Map.of("Content-Type", "text/plain")::get, "UP"))
                .as("an undeclared content type").hasMessageContaining("text/plain");
        assertThatThrownBy(() -> SPEC.check("DELETE", "/health", 405, name -> null, ""))
                .as("an operation not described").hasMessageContaining("not in the description");
    }
}
