package io.woslo.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.options.GetOption;
import io.woslo.testing.TestTimeouts;
import io.woslo.testing.WithEtcd;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code POST /v1/reservations?dryRun=true}, {@code GET /v1/reservations/{id}} and
 * {@code GET /v1/reservations?account=a} over HTTP against a real etcd, with the seed's resources (CPUA 10 of 20,
 * CPUB 0 of 20, CPUC 18 of 20, CPUD 20 of 20). "Changes nothing" is checked on every key of the namespace, values
 * and mod revisions, read with plain jetcd.
 */
@WithEtcd
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReservationReadsIT extends SeedCoordinatorSupport {
    ReservationReadsIT() {
        super("reads");
    }

    @Test
    void aDryRunThatFitsAnswers200AndChangesNothing() {
        String account = freshAccount();
        assertThat(http.post("/used_quota?account=" + account).status()).isEqualTo(204);
        String open = created(reserve("", account, "{\"CPUA\":4}"));
        Map<String, String> before = everyKey();

        Http.Response dry = reserve("?dryRun=true", account, "{\"CPUB\":2,\"CPUA\":6,\"CPUD\":0}");

        assertThat(dry.status()).as(dry.toString()).isEqualTo(200);
        assertThat(dry.body()).isEqualTo("{\"fits\":true,\"account\":\"" + account
                + "\",\"resources\":{\"CPUA\":6,\"CPUB\":2}}");
        assertThat(dry.header("Location")).isNull();
        assertThat(everyKey()).isEqualTo(before);
        assertThat(http.post("/v1/reservations/" + open + "/finally").status()).isEqualTo(204);
    }

    @Test
    void aDryRunOverQuotaGivesTheSame409AsARealCallAndChangesNothing() {
        String account = freshAccount();
        assertThat(http.post("/used_quota?account=" + account).status()).isEqualTo(204);
        String open = created(reserve("", account, "{\"CPUA\":4}"));
        Map<String, String> before = everyKey();

        Http.Response dry = reserve("?dryRun=true", account, "{\"CPUB\":1,\"CPUA\":7,\"CPUC\":3}");

        assertThat(everyKey()).as("nothing written by the dry run").isEqualTo(before);
        assertThat(dry.status()).as(dry.toString()).isEqualTo(409);
        assertThat(dry.json().get("resource").asText()).isEqualTo("CPUA");
        assertThat(dry.json().get("used").asLong()).as("10 from the source, 4 reserved").isEqualTo(14);
        Http.Response real = reserve("", account, "{\"CPUB\":1,\"CPUA\":7,\"CPUC\":3}");
        assertThat(dry.json()).isEqualTo(real.json());
        assertThat(real.status()).isEqualTo(409);
        assertThat(http.post("/v1/reservations/" + open + "/finally").status()).isEqualTo(204);
    }

    @Test
    void aDryRunForAnAccountWithoutCountersUsesTheSourcesAndCreatesNone() {
        String account = freshAccount();

        assertThat(reserve("?dryRun=true", account, "{\"CPUC\":2}").status()).isEqualTo(200);
        Http.Response refused = reserve("?dryRun=true", account, "{\"CPUC\":3}");

        assertThat(refused.status()).as(refused.toString()).isEqualTo(409);
        assertThat(refused.json().get("used").asLong()).isEqualTo(18);
        assertThat(refused.json().get("quota").asLong()).isEqualTo(20);
        assertThat(everyKey()).as("no counter, index or lock of the account")
                .noneSatisfy((key, value) -> assertThat(key).contains(account));
    }

    @Test
    void dryRunFalseOrAbsentIsTheRealCreateAndAnyOtherValueIs400() {
        String account = freshAccount();
        assertThat(http.post("/used_quota?account=" + account).status()).isEqualTo(204);
        Map<String, String> before = everyKey();

        for (String query : List.of("?dryRun=yes", "?dryRun=TRUE", "?dryRun=", "?dryRun=true&dryRun=true")) {
            Http.Response refused = reserve(query, account, "{\"CPUA\":1}");
            assertError(refused, 400, "bad_request");
            assertThat(refused.json().get("message").asText()).as(query).contains("dryRun");
        }
        assertError(reserve("?dryRun=true", account, "{\"CPUA\":-1}"), 400, "bad_request");
        assertError(reserve("?dryRun=true", account, "{\"CPUA\":1,\"NOPE\":1}"), 400, "bad_request");
        assertError(reserve("?dryRun=true", account, "{\"CPUA\":\"x\"}"), 400, "bad_request");
        assertError(http.post("/v1/reservations?dryRun=true", "text/plain",
                "{\"account\":\"" + account + "\",\"resources\":{\"CPUA\":1}}"), 415, "unsupported_media_type");
        assertThat(everyKey()).isEqualTo(before);

        String made = created(reserve("?dryRun=false", account, "{\"CPUA\":1}"));
        assertThat(http.post("/v1/reservations/" + made + "/finally").status()).isEqualTo(204);
    }

    @Test
    void aReservationIsReadByIdUntilItEnds() {
        String account = freshAccount();
        Http.Response made = reserve("", account, "{\"CPUB\":2,\"CPUA\":1}");
        String id = created(made);

        Http.Response read = http.get("/v1/reservations/" + id);

        assertThat(read.status()).as(read.toString()).isEqualTo(200);
        JsonNode record = read.json();
        assertThat(fieldNames(record)).containsExactly("id", "account", "resources", "reservedAt", "expiresAt");
        assertThat(record.get("id").asText()).isEqualTo(id);
        assertThat(record.get("account").asText()).isEqualTo(account);
        assertThat(record.get("resources").toString()).isEqualTo("{\"CPUA\":1,\"CPUB\":2}");
        assertThat(record.get("expiresAt").asLong()).isEqualTo(made.json().get("expiresAt").asLong());
        assertThat(record.get("reservedAt").asLong()).isBetween(System.currentTimeMillis() - 60_000,
                record.get("expiresAt").asLong());

        assertThat(http.post("/v1/reservations/" + id + "/finally").status()).isEqualTo(204);
        assertError(http.get("/v1/reservations/" + id), 404, "not_found");
    }

    @Test
    void unknownNoopAndMalformedIdsAre404Or400() {
        String noop = created(reserve("", freshAccount(), "{\"CPUA\":0}"));
        assertThat(noop).startsWith("noop-");

        assertError(http.get("/v1/reservations/" + UUID.randomUUID()), 404, "not_found");
        assertError(http.get("/v1/reservations/no-such-id"), 404, "not_found");
        assertError(http.get("/v1/reservations/" + noop), 404, "not_found");
        assertError(http.get("/v1/reservations/" + "x".repeat(300)), 400, "bad_request");
    }

    @Test
    void anAccountsOpenReservationsAreListedOldestFirstAndAFinishedOneIsDropped() {
        String account = freshAccount();
        String other = freshAccount();
        String first = created(reserve("", account, "{\"CPUA\":1}"));
        String second = created(reserve("", account, "{\"CPUB\":3}"));
        String elsewhere = created(reserve("", other, "{\"CPUA\":1}"));

        Http.Response listed = http.get("/v1/reservations?account=" + account);

        assertThat(listed.status()).as(listed.toString()).isEqualTo(200);
        assertThat(fieldNames(listed.json())).containsExactly("reservations");
        List<JsonNode> records = new ArrayList<>();
        listed.json().get("reservations").forEach(records::add);
        assertThat(records).extracting(r -> r.get("id").asText()).containsExactlyInAnyOrder(first, second);
        assertThat(records.get(0).get("reservedAt").asLong()).isLessThanOrEqualTo(records.get(1).get("reservedAt")
                .asLong());
        for (JsonNode record : records) {
            assertThat(record).isEqualTo(http.get("/v1/reservations/" + record.get("id").asText()).json());
        }

        assertThat(http.post("/v1/reservations/" + first + "/finally").status()).isEqualTo(204);
        JsonNode after = http.get("/v1/reservations?account=" + account).json().get("reservations");
        assertThat(after).hasSize(1);
        assertThat(after.get(0).get("id").asText()).isEqualTo(second);
        assertThat(after.get(0).get("resources").toString()).isEqualTo("{\"CPUB\":3}");

        assertThat(http.get("/v1/reservations?account=" + freshAccount()).body()).isEqualTo("{\"reservations\":[]}");
        for (String id : List.of(second, elsewhere)) {
            assertThat(http.post("/v1/reservations/" + id + "/finally").status()).isEqualTo(204);
        }
    }

    @Test
    void aListWithoutExactlyOneAccountIs400() {
        assertError(http.get("/v1/reservations"), 400, "bad_request");
        assertError(http.get("/v1/reservations?account="), 400, "bad_request");
        assertError(http.get("/v1/reservations?account=a&account=b"), 400, "bad_request");
    }

    // -----------------------------------------------------------------------------------------------------------

    private Http.Response reserve(String query, String account, String resources) {
        return http.postJson("/v1/reservations" + query,
                "{\"account\":\"" + account + "\",\"resources\":" + resources + "}");
    }

    private static String created(Http.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(201);
        return response.json().get("id").asText();
    }

    private static void assertError(Http.Response response, int status, String code) {
        assertThat(response.status()).as(response.toString()).isEqualTo(status);
        assertThat(response.json().get("error").asText()).isEqualTo(code);
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static String freshAccount() {
        return "acct-" + UUID.randomUUID();
    }

    /** Every key of the namespace with its value and mod revision. */
    private Map<String, String> everyKey() {
        try {
            Map<String, String> out = new TreeMap<>();
            raw.getKVClient().get(ByteSequence.from(namespace + "/", UTF_8), GetOption.builder().isPrefix(true).build())
                    .get(TestTimeouts.step().toMillis(), TimeUnit.MILLISECONDS).getKvs()
                    .forEach(kv -> out.put(kv.getKey().toString(UTF_8),
                            kv.getValue().toString(UTF_8) + " @" + kv.getModRevision()));
            return out;
        } catch (Exception e) {
            throw new AssertionError("cannot read the namespace " + namespace, e);
        }
    }
}
