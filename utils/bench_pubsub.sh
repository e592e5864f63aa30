#!/bin/bash
# Pub/Sub benchmark (issue 11), side by side with redis-server in one run on free loopback
# ports: PUBLISH throughput and publish-to-receive latency (p50/p99, send time carried in the
# payload) with utils/bench_pubsub.py: CLIENTS publishers in pipelines of PIPELINE against
# redis-server (one subscriber), one concordkv node (one subscriber) and a three-node cluster
# (publishers on the leader, one subscriber on every node: each message is one log entry
# applied and delivered by every node). Writes the section between <!-- bench:pubsub --> and
# <!-- /bench:pubsub --> of docs/BENCHMARKS.md.
#
#   utils/bench_pubsub.sh
#   BENCH_N=5000 BENCH_OUT=/tmp/t.md utils/bench_pubsub.sh
#
# Environment: BENCH_N (40000) messages per run; BENCH_CLIENTS (4); BENCH_PIPELINE (16);
# BENCH_OUT (docs/BENCHMARKS.md); REDIS_SERVER (redis-server); CONCORDKV_SERVER
# (<repo>/concordkv-server); CONCORDKV_ARGS (extra options for every concordkv node);
# BENCH_TMPDIR (${TMPDIR:-/tmp}). Every server is started here and stopped by pid at exit.
set -u
export LC_ALL=C

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=bench_pubsub.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
N=${BENCH_N:-40000}
CLIENTS=${BENCH_CLIENTS:-4}
PIPE=${BENCH_PIPELINE:-16}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
REDIS_BIN=${REDIS_SERVER:-redis-server}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
OURS_EXTRA=${CONCORDKV_ARGS:-}
PY=/usr/bin/python3

for tool in redis-cli awk "$REDIS_BIN" "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
is_uint "$N" && is_uint "$CLIENTS" && is_uint "$PIPE" || die "BENCH_N, BENCH_CLIENTS, BENCH_PIPELINE: integers"
resolve_server "$OURS_BIN"
OURS_BIN=$SERVER
bench_workdir pubsub
say() { echo "bench_pubsub: $*" >&2; }

# run LABEL PUBLISH_PORT SUBSCRIBE_PORTS: one table row.
run() {
    local out
    say "$1"
    out=$("$PY" "$ROOT/utils/bench_pubsub.py" --publish "$2" --subscribe "$3" -n "$N" -c "$CLIENTS" -P "$PIPE") ||
        die "$1: $out"
    say "  $out"
    awk -v label="$1" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "| %s | %s | %s | %s | %s |\n", label, v["msgs_per_s"], v["p50_us"], v["p99_us"], v["received"] }' <<<"$out"
}

ROWS=$WORK/rows
: >"$ROWS"
bench_start_redis redis --save "" --appendonly no
run "redis-server (1 subscriber)" "$STARTED_PORT" "$STARTED_PORT" >>"$ROWS"
bench_start_redis redis-always --save "" --appendonly yes --appendfsync always
run "redis-server appendfsync always (1 subscriber)" "$STARTED_PORT" "$STARTED_PORT" >>"$ROWS"
bench_start_cluster one 1
wait_healthy "$STARTED_BASE" one 1
run "concordkv 1 node (1 subscriber)" "$LEADER_PORT" "$LEADER_PORT" >>"$ROWS"
bench_start_cluster three 3
wait_healthy "$STARTED_BASE" three 1 2 3
run "concordkv 3 nodes (a subscriber on each node)" "$LEADER_PORT" \
    "$((STARTED_BASE + 1)),$((STARTED_BASE + 2)),$((STARTED_BASE + 3))" >>"$ROWS"

SECTION=$WORK/section.md
{
    echo "<!-- bench:pubsub -->"
    echo "## Pub/Sub: PUBLISH throughput and publish-to-receive latency"
    echo
    echo "\`utils/bench_pubsub.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, $N messages, $CLIENTS publishers"
    echo "pipelining $PIPE, payload = send time; latency from the publisher's send to a subscriber's"
    echo "read, over every message every subscriber received; Python clients, so the figures"
    echo "include their overhead on both sides). The machine is shared with other jobs (load"
    echo "average $(cut -d' ' -f1-3 /proc/loadavg) at the end of the run): compare rows of one run only."
    echo
    echo "| server | PUBLISH/s | p50 µs | p99 µs | received |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    cat "$ROWS"
    echo
    echo "Each ConcordKV PUBLISH is one log entry (batched with the others in flight), so its cost"
    echo "is a replicated write's; every node delivers on apply, which is why a subscriber on a"
    echo "follower sees the messages in the same order as one on the leader. Redis does not write"
    echo "PUBLISH to its AOF, so appendfsync always changes nothing for it."
    echo "<!-- /bench:pubsub -->"
} >"$SECTION"
write_section "$OUT" pubsub "$SECTION"
