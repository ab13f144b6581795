#!/usr/bin/env bash
# Makes sure `etcd` and `etcdctl` (and `openssl`, with which the TLS tests make their certificates) are on the
# PATH. Idempotent: does nothing when they are there already; otherwise installs Debian's etcd-server, etcd-client
# and openssl. Never leaves a system etcd running on 2379.
set -euo pipefail

if command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-etcd: etcd is not on the PATH and apt-get is missing; install etcd 3.4+ by hand" >&2
  exit 1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "install-etcd: need root (or sudo) to install etcd-server and etcd-client" >&2
    exit 1
  fi
fi

# The package would start a system etcd on 127.0.0.1:2379; forbid service starts for the install's duration.
policy=/usr/sbin/policy-rc.d
placed_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod +x "$policy"
  placed_policy=1
fi
cleanup() { if [ "$placed_policy" = 1 ]; then "${sudo_cmd[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

echo "install-etcd: installing etcd-server, etcd-client and openssl with apt-get" >&2
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends etcd-server etcd-client \
  openssl >/dev/null

# Where systemd runs, the unit may still have been enabled and started: stop and disable it.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${sudo_cmd[@]}" systemctl disable --now etcd >/dev/null 2>&1 || true
fi

command -v etcd >/dev/null && command -v etcdctl >/dev/null || {
  echo "install-etcd: installed packages but etcd/etcdctl are still not on the PATH" >&2
  exit 1
}
echo "install-etcd: $(etcd --version | head -1)" >&2
