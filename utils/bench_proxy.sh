#!/bin/bash
# Follower proxying (follower-mode, issue 13): SET and GET at 50 clients through the leader of
# a three-node cluster and through a follower that forwards them to it (a plain client, as
# redis-benchmark is, in follower-mode auto), in one run on free loopback ports. Writes the
# section between <!-- bench:proxy --> and <!-- /bench:proxy --> of docs/BENCHMARKS.md.
#
#   utils/bench_proxy.sh
#   BENCH_N=5000 BENCH_OUT=/tmp/t.md utils/bench_proxy.sh
#
# Environment: BENCH_N (100000) requests per redis-benchmark test; BENCH_OUT
# (docs/BENCHMARKS.md); CONCORDKV_SERVER (<repo>/concordkv-server); CONCORDKV_ARGS (extra
# options for every node); BENCH_TMPDIR (${TMPDIR:-/tmp}). Every server is started here and
# stopped by pid at exit.
set -u
export LC_ALL=C

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=bench_proxy.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
N=${BENCH_N:-100000}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
OURS_EXTRA=${CONCORDKV_ARGS:-}

for tool in redis-benchmark redis-cli awk; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
is_uint "$N" || die "BENCH_N: an integer"
resolve_server "$OURS_BIN"
OURS_BIN=$SERVER
bench_workdir proxy
say() { echo "bench_proxy: $*" >&2; }

bench_start_cluster ckv3 3
wait_healthy "$STARTED_BASE" ckv3 1 2 3
LEADER=$LEADER_PORT
FOLLOWER=$((STARTED_BASE + (LEADER_ID == 1 ? 2 : 1)))
[ "$(redis-cli -p "$FOLLOWER" CONFIG GET follower-mode | tail -1)" = auto ] ||
    die "the follower is not in follower-mode auto"

# bench PORT TEST: "ops/s p50_ms p99_ms" of redis-benchmark -c 50 -t TEST on PORT.
bench() {
    redis-benchmark -h 127.0.0.1 -p "$1" -c 50 -n "$N" -r 100000 -d 64 -t "$2" --csv 2>/dev/null |
        awk -F'","' 'NR == 2 { gsub(/"/, "", $2); gsub(/"/, "", $4); gsub(/"/, "", $7); print $2, $4, $7 }'
}

ROWS=""
for t in set get; do
    say "$t through the leader"
    read -r l_ops l_p50 l_p99 <<<"$(bench "$LEADER" "$t")"
    before=$(info_field "$FOLLOWER" stats proxied_commands)
    say "$t through a follower"
    read -r f_ops f_p50 f_p99 <<<"$(bench "$FOLLOWER" "$t")"
    after=$(info_field "$FOLLOWER" stats proxied_commands)
    ROWS+="| ${t^^} | $l_ops | $l_p50 | $l_p99 | $f_ops | $f_p50 | $f_p99 | $(ratio "$f_ops" "$l_ops") | $((after - before)) |"$'\n'
done

REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
SECTION="$WORK/section.md"
{
    echo "<!-- bench:proxy -->"
    echo "## Follower proxying: SET/GET through a follower vs through the leader (issue 13)"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, load average"
    echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end; concordkv commit $REV. One run of"
    echo "\`utils/bench_proxy.sh\` (BENCH_N=$N): \`redis-benchmark -c 50 -n $N -r 100000 -d 64"
    echo "-t set|get\` against the leader of three nodes, then against a follower in"
    echo "\`follower-mode auto\`, which forwards every command to the leader (redis-benchmark"
    echo "is a plain client) over its pooled pipelined connections; *forwarded*: the"
    echo "follower's INFO \`proxied_commands\` during the run."
    echo
    echo "| test | leader ops/s | p50 ms | p99 ms | follower ops/s | p50 ms | p99 ms | /leader | forwarded |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s' "$ROWS"
    echo "<!-- /bench:proxy -->"
} >"$SECTION"
write_section "$OUT" proxy "$SECTION"
say "wrote $OUT"
