#!/bin/sh
# Install every build and test dependency of ConcordKV from Debian 12 packages (clang and
# libfuzzer-14-dev build the fuzz targets of tests/fuzz/; configure skips them without; openssl
# makes the TLS tests' certificates, iproute2's ip netns the protected-mode tests' remote client;
# liblua5.1-0-dev, lua-cjson-dev and lua-bitop-dev: the Lua 5.1 of EVAL and its cjson and bit modules;
# chromium, chromium-driver and python3-selenium: the web admin page's browser test).
# Idempotent; run as root. Skips apt-get entirely when everything is already present.
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config
libevent-dev libraft-dev libuv1-dev libhiredis-dev libjansson-dev libcriterion-dev libssl-dev
redis-tools redis-server python3 python3-redis
clang libfuzzer-14-dev
openssl iproute2
liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
chromium chromium-driver python3-selenium"
# help2man: the man pages (man/*.1) from --help; the dist tarball ships them already made.
PACKAGES="$PACKAGES help2man"
# systemd: systemd-analyze verify of the installed units (tests/install/test_install.sh).
PACKAGES="$PACKAGES systemd"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages:$missing (run this script as root)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# The Debian redis-server package starts a system instance on 6379; tests and benchmarks
# start their own on free ports, so stop it if it came up.
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
echo "deps: installed$missing"
