#!/usr/bin/env bash
# Makes sure Debian's headless-capable Chromium and its matching chromedriver are installed for the operator
# console's browser tests (coordinator/src/test/java/io/woslo/coordinator/ui/). Idempotent: does nothing when
# /usr/bin/chromium and /usr/bin/chromedriver are there already; otherwise installs the `chromium` and
# `chromium-driver` packages with apt-get (no recommended packages: the tests run it headless). The tests use
# these two binaries and never download a browser or a driver.
set -euo pipefail

browser=${WOSLO_CHROMIUM:-/usr/bin/chromium}
driver=${WOSLO_CHROMEDRIVER:-/usr/bin/chromedriver}

if [ -x "$browser" ] && [ -x "$driver" ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: $browser or $driver is missing and apt-get is missing; install Chromium and a matching" \
    "chromedriver by hand (or point WOSLO_CHROMIUM / WOSLO_CHROMEDRIVER at them)" >&2
  exit 1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "install-browser: need root (or sudo) to install chromium and chromium-driver" >&2
    exit 1
  fi
fi

echo "install-browser: installing chromium and chromium-driver with apt-get" >&2
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium \
  chromium-driver >/dev/null

[ -x "$browser" ] && [ -x "$driver" ] || {
  echo "install-browser: installed packages but $browser or $driver is still missing" >&2
  exit 1
}
echo "install-browser: $("$browser" --version 2>/dev/null | head -1), $("$driver" --version | head -1)" >&2
