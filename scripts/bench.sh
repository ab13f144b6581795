#!/usr/bin/env bash
# The benchmark: every scenario side by side in one run against one local etcd.
#
#   scripts/bench.sh [--quick] [--out FILE] [--scenarios a,b,...]
#
# Installs etcd if missing, builds if a source is newer than the jars, starts its own one-member etcd on free
# loopback ports with its data on disk (under bench/target, not /dev/shm), runs bench/target/woslo-bench.jar (which
# starts the coordinator jar as a child process), prints the Markdown table and writes JSON (default
# bench/results.json), then stops the etcd it started. --quick takes under 2 minutes, the full run under 10.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
trap 'echo "bench.sh: failed at line $LINENO" >&2' ERR

quick=(); out=bench/results.json; scenarios=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick); shift ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    --scenarios) scenarios=(--scenarios "${2:?--scenarios needs a list}"); shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

started=$(date +%s)
scripts/install-etcd.sh
# Maven on the PATH, else the wrapper (./mvnw fetches the pinned Maven from Maven Central once).
mvn=$(command -v mvn || echo ./mvnw)

bench_jar=bench/target/woslo-bench.jar
coordinator_jar=coordinator/target/woslo-coordinator.jar
needs_build() {
  [ -f "$bench_jar" ] && [ -f "$coordinator_jar" ] || return 0
  [ -n "$(find pom.xml lib coordinator bench -path '*/target' -prune -o -type f \
      \( -name '*.java' -o -name 'pom.xml' -o -path '*/src/main/resources/*' \) -newer "$bench_jar" -print -quit)" ]
}
if needs_build; then
  echo "bench.sh: building (mvn -B -q -DskipTests package)"
  "$mvn" -B -q -DskipTests -Dmaven.source.skip=true -Dmaven.javadoc.skip=true package
fi

# Two consecutive free loopback ports (client, peer) for a one-member etcd.
port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
pick_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 20000))
    port_in_use "$p" || port_in_use "$((p + 1))" || { echo "$p"; return 0; }
  done
  echo "bench.sh: no free port pair found" >&2; return 1
}

mkdir -p bench/target
etcd_dir=$(mktemp -d "$root/bench/target/etcd.XXXXXX")
stop_etcd() {
  scripts/etcd.sh stop --dir "$etcd_dir" >/dev/null 2>&1 || true
  rm -rf "$etcd_dir"
}
trap stop_etcd EXIT

port=$(pick_port)
scripts/etcd.sh start --members 1 --port "$port" --dir "$etcd_dir"
endpoints=$(cat "$etcd_dir/endpoints")
fs=$(stat -f -c %T "$etcd_dir")
etcd_version=$(etcd --version 2>/dev/null | awk 'NR == 1 {print $NF}' || true)
note="etcd $etcd_version, 1 member, data dir $etcd_dir (filesystem $fs)"
echo "bench.sh: $note; $(nproc) CPUs shared by etcd, the benchmark and the coordinator"
if [ "$fs" = tmpfs ] || [ "$fs" = ramfs ]; then
  echo "bench.sh: WARNING: the etcd data dir is in memory, not on disk; figures will not match ETCD-NOTES' first row" >&2
fi

set +e
etcd_pids=$(cat "$etcd_dir"/m*.pid 2>/dev/null | paste -sd, -)
java -jar "$bench_jar" --endpoints "$endpoints" --coordinator-jar "$coordinator_jar" --out "$out" \
  --note "$note" ${etcd_pids:+--etcd-pids "$etcd_pids"} "${quick[@]}" "${scenarios[@]}"
status=$?
set -e
echo "bench.sh: finished in $(( $(date +%s) - started )) s (exit $status)"
exit $status
