package io.woslo.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcd.jetcd.ByteSequence;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** The JSON and byte conversions of values WOSLO stores in etcd. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    public static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    public static String string(ByteSequence bytes) {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    public static ByteSequence write(Object value) {
        try {
            return ByteSequence.from(MAPPER.writeValueAsBytes(value));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    public static <T> T read(ByteSequence bytes, Class<T> type) {
        try {
            return MAPPER.readValue(bytes.getBytes(), type);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot decode " + type.getSimpleName() + " from '" + string(bytes) + "'", e);
        }
    }
}
