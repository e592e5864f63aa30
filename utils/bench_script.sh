#!/bin/bash
# EVALSHA of a small INCR script at 50 clients (issue 11), side by side in one run on free
# loopback ports: redis-server with appendfsync always, one concordkv node and the leader of a
# three-node cluster, with plain INCR on each for reference (a script is one log entry, as an
# INCR is). Writes the section between <!-- bench:script --> and <!-- /bench:script --> of
# docs/BENCHMARKS.md.
#
#   utils/bench_script.sh
#   BENCH_N=5000 BENCH_OUT=/tmp/t.md utils/bench_script.sh
#
# Environment: BENCH_N (100000) requests per redis-benchmark test; BENCH_OUT
# (docs/BENCHMARKS.md); REDIS_SERVER (redis-server); CONCORDKV_SERVER (<repo>/concordkv-server);
# CONCORDKV_ARGS (extra options for every concordkv node); BENCH_TMPDIR (${TMPDIR:-/tmp}).
# Every server is started here and stopped by pid at exit.
set -u
export LC_ALL=C

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=bench_script.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
N=${BENCH_N:-100000}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
REDIS_BIN=${REDIS_SERVER:-redis-server}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
OURS_EXTRA=${CONCORDKV_ARGS:-}

for tool in redis-benchmark redis-cli awk "$REDIS_BIN"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
is_uint "$N" || die "BENCH_N: an integer"
resolve_server "$OURS_BIN"
OURS_BIN=$SERVER
bench_workdir script
say() { echo "bench_script: $*" >&2; }

# start_ours NAME N: an N-node cluster; sets STARTED_PORT (the leader's RESP port).
start_ours() {
    bench_start_cluster "$1" "$2"
    # shellcheck disable=SC2046
    wait_healthy "$STARTED_BASE" "$1" $(seq 1 "$2")
    STARTED_PORT=$LEADER_PORT
}

bench_start_redis redis-always --save "" --appendonly yes --appendfsync always
P_REDIS=$STARTED_PORT
start_ours ckv1 1
P_ONE=$STARTED_PORT
start_ours ckv3 3
P_THREE=$STARTED_PORT

SCRIPT="return redis.call('incr', KEYS[1])"
SHA=$(redis-cli -p "$P_REDIS" script load "$SCRIPT")
for p in "$P_ONE" "$P_THREE"; do
    [ "$(redis-cli -p "$p" script load "$SCRIPT")" = "$SHA" ] || die "SCRIPT LOAD on port $p differs"
done

# bench PORT ARGS...: "ops/s p50_ms" of redis-benchmark -c 50 on PORT.
bench() {
    local port=$1
    shift
    redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -n "$N" --csv "$@" 2>/dev/null |
        awk -F'","' 'NR == 2 { gsub(/"/, "", $2); gsub(/"/, "", $4); print $2, $4 }'
}

ROWS=""
for t in "EVALSHA $SHA 1 bench:n" "INCR bench:m"; do
    say "${t%% *}"
    # shellcheck disable=SC2086
    read -r r_ops r_p50 <<<"$(bench "$P_REDIS" $t)"
    # shellcheck disable=SC2086
    read -r o_ops o_p50 <<<"$(bench "$P_ONE" $t)"
    # shellcheck disable=SC2086
    read -r t_ops t_p50 <<<"$(bench "$P_THREE" $t)"
    ROWS+="| ${t%% *} | $r_ops | $r_p50 | $o_ops | $o_p50 | $(ratio "$o_ops" "$r_ops") | $t_ops | $t_p50 | $(ratio "$t_ops" "$r_ops") |"$'\n'
done

REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
SECTION="$WORK/section.md"
{
    echo "<!-- bench:script -->"
    echo "## Lua scripts: EVALSHA of a small INCR script (issue 11)"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, load average"
    echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end; $("$REDIS_BIN" --version | awk '{ print $1, $2, $3 }');"
    echo "concordkv commit $REV. One run of \`utils/bench_script.sh\` (BENCH_N=$N):"
    echo "\`redis-benchmark -c 50 -n $N --csv EVALSHA <sha> 1 bench:n\` (the script"
    echo "\`$SCRIPT\`) and \`INCR bench:m\`; redis-server with \`--appendonly yes"
    echo "--appendfsync always\`; concordkv one node, and the leader of three nodes."
    echo
    echo "| test | redis ops/s | redis p50 ms | concordkv 1 node ops/s | p50 ms | /redis | concordkv 3 nodes ops/s | p50 ms | /redis |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s' "$ROWS"
    echo
    echo "A script is one command in the log, run inside apply on every node: its cost over INCR"
    echo "is the Lua call itself, on each node."
    echo "<!-- /bench:script -->"
} >"$SECTION"
write_section "$OUT" script "$SECTION"
say "wrote $OUT"
