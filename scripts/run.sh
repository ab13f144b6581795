#!/usr/bin/env bash
# README command 1: installs etcd if missing, builds the coordinator if needed, and starts it on
# http://127.0.0.1:7070 with the Go edition's demo resources. The demo config (scripts/demo-config.yaml) asks for a
# local etcd of the coordinator's own under ./data/etcd (etcd.local: true), stopped on shutdown; one left running
# by a coordinator that was killed is reused or stopped.
# Extra arguments go to the coordinator (e.g. --etcd http://127.0.0.1:2379 instead of the local etcd, --port 8080,
# --help). WOSLO_CONFIG names another config file.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-etcd.sh
# Maven on the PATH, else the wrapper (./mvnw fetches the pinned Maven from Maven Central once).
mvn=$(command -v mvn || echo ./mvnw)

jar=coordinator/target/woslo-coordinator.jar
if [ ! -f "$jar" ] || [ -n "$(find pom.xml lib/pom.xml coordinator/pom.xml lib/src/main coordinator/src/main -newer "$jar" -print -quit)" ]; then
  echo "run.sh: building the coordinator" >&2
  "$mvn" -B -q -DskipTests -Dmaven.test.skip=true -Dmaven.source.skip=true -Dmaven.javadoc.skip=true package
fi

config=${WOSLO_CONFIG:-scripts/demo-config.yaml}
# The coordinator logs where it listens and a few curl lines to try it; see docs/api.md for every endpoint.
exec java -jar "$jar" --config "$config" "$@"
