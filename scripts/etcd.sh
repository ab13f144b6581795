#!/usr/bin/env bash
# A local etcd for humans, scripts/run.sh and the benchmarks: one member or a three-member cluster on 127.0.0.1.
#
#   scripts/etcd.sh start  [--members 1|3] [--port P] [--dir D]
#   scripts/etcd.sh stop   [--dir D]
#   scripts/etcd.sh status [--dir D]
#
# Member i listens for clients on P+2i and for peers on P+2i+1 (default P=2379). Data, logs (mI.log) and PID
# files (mI.pid) live under D (default ./data/etcd-local). `stop` ends only processes whose PID file is in D and
# whose command line names D, never anything else.
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}; [ -n "$cmd" ] || usage; shift
members=1; port=2379; dir=./data/etcd-local
while [ $# -gt 0 ]; do
  case "$1" in
    --members) members=${2:?}; shift 2 ;;
    --port) port=${2:?}; shift 2 ;;
    --dir) dir=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "etcd.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
case "$members" in 1|3) ;; *) echo "etcd.sh: --members must be 1 or 3, got '$members'" >&2; exit 2 ;; esac
case "$port" in ''|*[!0-9]*) echo "etcd.sh: --port must be a number, got '$port'" >&2; exit 2 ;; esac
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# A PID from our PID file that is alive and is an etcd serving our data dir; empty otherwise.
live_pid() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--data-dir $dir/"; then
    echo "$pid"
  fi
}

endpoints_of() { # reads the endpoints recorded at start
  cat "$dir/endpoints" 2>/dev/null || true
}

start() {
  command -v etcd >/dev/null || { echo "etcd.sh: etcd is not installed; run scripts/install-etcd.sh" >&2; exit 1; }
  local i cluster="" endpoints="" token="woslo-local-$$-$(date +%s)"
  for ((i = 0; i < members; i++)); do
    if [ -n "$(live_pid "$dir/m$i.pid")" ]; then
      echo "etcd.sh: already running in $dir (use stop first)" >&2; exit 1
    fi
    cluster+="${cluster:+,}m$i=http://127.0.0.1:$((port + 2 * i + 1))"
    endpoints+="${endpoints:+,}http://127.0.0.1:$((port + 2 * i))"
  done
  for ((i = 0; i < members; i++)); do
    local client=$((port + 2 * i)) peer=$((port + 2 * i + 1))
    nohup setsid etcd --name "m$i" --data-dir "$dir/m$i/" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-token "$token" --initial-cluster-state new \
      --logger zap --log-level warn >>"$dir/m$i.log" 2>&1 </dev/null &
    echo $! >"$dir/m$i.pid"
  done
  echo "$endpoints" >"$dir/endpoints"
  for _ in $(seq 1 150); do
    if ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1; then
      echo "etcd.sh: $members member(s) healthy at $endpoints (data and logs in $dir)"
      return 0
    fi
    for ((i = 0; i < members; i++)); do
      if [ -z "$(live_pid "$dir/m$i.pid")" ]; then
        echo "etcd.sh: member m$i exited during start-up; last lines of $dir/m$i.log:" >&2
        tail -n 20 "$dir/m$i.log" >&2 || true
        stop; exit 1
      fi
    done
    sleep 0.2
  done
  echo "etcd.sh: not healthy after 30 s; see logs in $dir" >&2
  stop; exit 1
}

stop() {
  local f pid stopped=0
  for f in "$dir"/m*.pid; do
    [ -e "$f" ] || continue
    pid=$(live_pid "$f")
    if [ -n "$pid" ]; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
      stopped=$((stopped + 1))
    fi
    rm -f "$f"
  done
  echo "etcd.sh: stopped $stopped member(s) in $dir"
}

status() {
  local f pid name any=0
  for f in "$dir"/m*.pid; do
    [ -e "$f" ] || continue
    any=1; name=$(basename "$f" .pid); pid=$(live_pid "$f")
    if [ -n "$pid" ]; then echo "$name: running, pid $pid"; else echo "$name: not running"; fi
  done
  [ "$any" = 1 ] || { echo "etcd.sh: nothing started in $dir"; return 3; }
  local endpoints; endpoints=$(endpoints_of)
  if [ -n "$endpoints" ] && ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health 2>&1; then
    return 0
  fi
  return 1
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "etcd.sh: unknown command '$cmd'" >&2; usage ;;
esac
