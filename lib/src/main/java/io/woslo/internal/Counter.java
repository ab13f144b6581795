package io.woslo.internal;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * The value of {@code <ns>/quota/<account>/<resource>}: {@code {"used":11,"quota":20,"refreshedAt":<epoch ms>}}.
 * {@code used} includes reservations in flight; {@code refreshedAt} is when it was last re-synced from the handlers.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Counter(long used, long quota, long refreshedAt) {

    public Counter withUsed(long newUsed) {
        return new Counter(newUsed, quota, refreshedAt);
    }
}
