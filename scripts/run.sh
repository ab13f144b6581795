#!/usr/bin/env bash
# README command 1: installs etcd if missing, builds the coordinator if needed, and starts it on
# http://127.0.0.1:7070 with the seed's demo resources. With no etcd endpoint configured the coordinator
# runs a local etcd of its own under ./data/etcd and stops it on shutdown.
# Extra arguments go to the coordinator (e.g. --etcd http://127.0.0.1:2379, --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-etcd.sh

jar=coordinator/target/woslo-coordinator.jar
if [ ! -f "$jar" ] || [ -n "$(find pom.xml lib/pom.xml coordinator/pom.xml lib/src/main coordinator/src/main -newer "$jar" -print -quit)" ]; then
  echo "run.sh: building the coordinator" >&2
  mvn -B -q -DskipTests -Dmaven.test.skip=true package
fi

config=${WOSLO_CONFIG:-scripts/demo-config.yaml}
# The coordinator logs where it listens and a few curl lines to try it; see docs/api.md for every endpoint.
exec java -jar "$jar" --config "$config" "$@"
