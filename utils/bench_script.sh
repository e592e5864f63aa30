#!/bin/bash
# EVALSHA of a small INCR script at 50 clients: redis-server (appendfsync always) and one
# concordkv-server node side by side in one run, with plain INCR on both for reference.
# Prints a markdown table (ops/s, p50 ms, concordkv/redis).
#   utils/bench_script.sh            # BENCH_N (default 100000) requests per test
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=bench_script.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
N=${BENCH_N:-100000}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    rm -rf "$WORK"
}
trap cleanup EXIT

BASE=$(free_base 2)
RPORT=$BASE
OPORT=$((BASE + 1))
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync always \
    --dir "$WORK" --daemonize no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
"$OURS_BIN" --port "$OPORT" --dir "$WORK/ckv" --admin-port 0 >"$WORK/ckv.log" 2>&1 &
PIDS+=($!)
SCRIPT="return redis.call('incr', KEYS[1])"
for p in "$RPORT" "$OPORT"; do
    for _ in $(seq 1 100); do
        redis-cli -p "$p" ping 2>/dev/null | grep -q PONG && break
        pause 0.1
    done
done
SHA=$(redis-cli -p "$RPORT" script load "$SCRIPT")
[ "$(redis-cli -p "$OPORT" script load "$SCRIPT")" = "$SHA" ] || die "SCRIPT LOAD differs"

# bench PORT ARGS...: "ops/s p50" of redis-benchmark -c 50 on PORT.
bench() {
    local port=$1
    shift
    redis-benchmark -p "$port" -c 50 -n "$N" --csv "$@" 2>/dev/null |
        awk -F'","' 'NR == 2 { gsub(/"/, "", $2); gsub(/"/, "", $4); print $2, $4 }'
}

echo "| test | clients | redis (appendfsync always) ops/s | concordkv 1 node ops/s | concordkv/redis | redis p50 ms | concordkv p50 ms |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for t in "EVALSHA $SHA 1 bench:n" "INCR bench:m"; do
    # shellcheck disable=SC2086
    read -r r_ops r_p50 <<<"$(bench "$RPORT" $t)"
    # shellcheck disable=SC2086
    read -r o_ops o_p50 <<<"$(bench "$OPORT" $t)"
    ratio=$(awk -v a="$o_ops" -v b="$r_ops" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    echo "| ${t%% *} | 50 | $r_ops | $o_ops | $ratio | $r_p50 | $o_p50 |"
done
