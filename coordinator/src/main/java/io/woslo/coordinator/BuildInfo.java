package io.woslo.coordinator;

/** The coordinator's version: the {@code Implementation-Version} of its jar's manifest, {@code dev} without one. */
final class BuildInfo {
    static final String UNKNOWN_VERSION = "dev";

    private BuildInfo() {
    }

    static String version() {
        String version = BuildInfo.class.getPackage().getImplementationVersion();
        return version == null || version.isBlank() ? UNKNOWN_VERSION : version;
    }
}
