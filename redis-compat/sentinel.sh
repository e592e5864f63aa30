#!/bin/bash
# Sentinel clients against a 3-node ConcordKV cluster started here (free ports, a temp dir,
# every node stopped by pid): redis-py's Sentinel (test_sentinel.py: discovery, master_for,
# slave_for, SET through a SIGKILL of the leader, +switch-master) and ioredis 5 with
# sentinels (test_sentinel_ioredis.js, installed from npm into the temp dir; skipped with a
# message when the registry cannot be reached). No acknowledged write may be lost.
# Exit 0 on success, 1 on failure, 77 (skip) when python3-redis is missing.
#   CONCORDKV_SERVER=/path/to/concordkv-server redis-compat/sentinel.sh
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=sentinel.sh
# shellcheck source=utils/lib.sh
. "$HERE/../utils/lib.sh"
PASSED=0
FAILED=0
WORK=""

python_with_redis
SERVER=${CONCORDKV_SERVER:-$HERE/../concordkv-server}
if ! [ -x "$SERVER" ]; then
    echo "FAIL: server binary not found ($SERVER); set CONCORDKV_SERVER" >&2
    exit 1
fi

pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1"; }

cleanup() {
    if [ -n "$WORK" ]; then
        stop_cluster_dir "$WORK/cluster"
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
WORK=$(mktemp -d "${TMPDIR:-/tmp}/concordkv-sentinel-XXXXXX")

# The cluster's ports and the nodes' pids, comma-separated, and the leader's port.
cluster_state() {
    local i
    PORTS=""
    PIDLIST=""
    for i in 1 2 3; do
        node_pid "$WORK/cluster" "$i" || NODE_PID=0
        PORTS+="${PORTS:+,}$((CBASE + i))"
        PIDLIST+="${PIDLIST:+,}$NODE_PID"
    done
}

# Start node I again (after the SIGKILL) and wait until all three are healthy.
heal() {
    "$HERE/../utils/cluster.sh" restart "$1" -d "$WORK/cluster" >>"$WORK/cluster.out" 2>&1 &&
        (wait_healthy "$CBASE" cluster 1 2 3 && echo "$LEADER_PORT" >"$WORK/leader") 2>>"$WORK/cluster.out"
}

# The id of the node that no longer runs (the killed leader), or empty.
dead_node() {
    local i
    for i in 1 2 3; do
        node_pid "$WORK/cluster" "$i" || { echo "$i"; return; }
    done
}

CBASE=$(free_base 3)
if ! { CONCORDKV_SERVER=$SERVER CLUSTER_TIMEOUT=30 "$HERE/../utils/cluster.sh" start -n 3 \
    -d "$WORK/cluster" -p "$CBASE" >"$WORK/cluster.out" 2>&1 &&
    (wait_healthy "$CBASE" cluster 1 2 3 && echo "$LEADER_PORT" >"$WORK/leader") 2>>"$WORK/cluster.out"; }; then
    fail "cluster start: $(tail -n 3 "$WORK/cluster.out" | tr '\n' ' ')"
    echo "$PASSED passed, $FAILED failed"
    exit 1
fi
echo "# 3-node cluster on ports $((CBASE + 1))-$((CBASE + 3))"

# ---- redis-py Sentinel ----
echo "# redis-py Sentinel ($PY)"
cluster_state
out=$(timeout 180 "$PY" "$HERE/test_sentinel.py" --ports "$PORTS" --pids "$PIDLIST" 2>&1)
tally python $? "$out"

# ---- ioredis with sentinels ----
echo "# ioredis with sentinels"
dead=$(dead_node)
if [ -n "$dead" ] && ! heal "$dead"; then
    fail "restart of node $dead: $(tail -n 3 "$WORK/cluster.out" | tr '\n' ' ')"
elif ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP ioredis: node or npm is not installed"
elif ! (cd "$WORK" && timeout 120 npm install --loglevel=error --no-audit --no-fund --fetch-retries=1 --fetch-timeout=20000 --prefix "$WORK/npm" \
    ioredis@5 >"$WORK/npm.out" 2>&1); then
    echo "SKIP ioredis: npm install ioredis@5 failed (registry unreachable?): $(tail -n 2 "$WORK/npm.out" | tr '\n' ' ')"
else
    cluster_state
    out=$(NODE_PATH="$WORK/npm/node_modules" timeout 180 node "$HERE/test_sentinel_ioredis.js" "$PORTS" \
        "$PIDLIST" "$(cat "$WORK/leader")" 2>&1)
    tally ioredis $? "$out"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
