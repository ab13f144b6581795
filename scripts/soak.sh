#!/usr/bin/env bash
# The fault soak (not part of scripts/test.sh): for [minutes] (default 5), a reservation storm and lock contention
# run on a three-member etcd cluster on loopback while random faults hit it (kill -9 of the leader, a member
# stopped and restarted, a client JVM killed while it holds a reservation). At the end it prints the invariant
# checks and exits non-zero if one fails.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${1:-5}"
scripts/install-etcd.sh

# Builds what is missing or stale (incremental), then runs io.woslo.fault.Soak on the test classpath.
mvn -B -q -pl lib -am install -DskipTests
classpath_file=lib/target/soak.classpath
mvn -B -q -pl lib dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$PWD/$classpath_file"
exec java -cp "lib/target/test-classes:lib/target/classes:$(cat "$classpath_file")" io.woslo.fault.Soak "$minutes"
