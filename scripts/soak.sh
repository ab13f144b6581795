#!/usr/bin/env bash
# The fault soak (not part of scripts/test.sh): scripts/soak.sh [minutes] [--seed N]
# For [minutes] (default 5), a randomized workload (reservations, stored reservations, deletions, rollbacks,
# refreshes, read/write locks) runs on a three-member etcd cluster on loopback while faults drawn from the seed hit
# it: kill -9 of the leader, members stopped/restarted or frozen (SIGSTOP) past a lease, the member a client's
# watches live on restarted, lost replies, held transactions, broken watch streams, delayed replies, a slow or
# failing source of truth, a client JVM frozen past its lease. At the end it prints the faults injected and each
# invariant check, and exits non-zero if one failed. The same seed replays the same operations and faults.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-etcd.sh

# Maven on the PATH, else the wrapper (./mvnw fetches the pinned Maven from Maven Central once).
mvn=$(command -v mvn || echo ./mvnw)

# Builds what is missing or stale into target/ only (nothing is installed into ~/.m2), then runs
# io.woslo.fault.Soak on the test classpath of lib. One Maven run for both, so woslo-test (a sibling module) is
# resolved from the reactor as its compiled classes; every module writes the file, lib (built last) wins.
classpath_file=lib/target/soak.classpath
"$mvn" -B -q -pl lib -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$PWD/$classpath_file"
exec java -cp "lib/target/test-classes:lib/target/classes:$(cat "$classpath_file")" io.woslo.fault.Soak "$@"
