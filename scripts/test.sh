#!/usr/bin/env bash
# README command 2: installs etcd (and, for the operator console's browser tests, Debian's chromium and
# chromium-driver) if missing, then builds and runs every unit and integration test.
# The tests start and stop their own etcd processes on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-etcd.sh
scripts/install-browser.sh
# Maven on the PATH, else the wrapper (./mvnw fetches the pinned Maven from Maven Central once).
mvn=$(command -v mvn || echo ./mvnw)
exec "$mvn" -B verify "$@"
