#!/usr/bin/env bash
# README command 2: installs etcd if missing, then builds and runs every unit and integration test.
# The tests start and stop their own etcd processes on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-etcd.sh
exec mvn -B verify "$@"
