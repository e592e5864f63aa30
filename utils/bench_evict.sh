#!/bin/bash
# maxmemory check and benchmark, in one run on free loopback ports: a three-node cluster with
# maxmemory 50mb and allkeys-lru on every node; 1 GiB of 1 KiB values written through the
# leader with redis-benchmark (random keys, pipelined); each node's RSS sampled during the
# load, at its end and at rest, against 1.3 x maxmemory plus the node's empty RSS; DEBUG
# DIGEST equal on all nodes once they applied the same index; then noeviction on the leader
# answers -OOM to writes and still serves reads.
# Writes the section between <!-- bench:evict --> and <!-- /bench:evict --> of
# docs/BENCHMARKS.md (other sections are kept).
#
#   utils/bench_evict.sh
#   CONCORDKV_SERVER=/path/to/concordkv-server utils/bench_evict.sh
#
# Environment: BENCH_EVICT_BYTES (1073741824: bytes of values written), BENCH_EVICT_MAXMEMORY
#   (50mb), BENCH_OUT (docs/BENCHMARKS.md), CONCORDKV_SERVER (<repo>/concordkv-server),
#   CONCORDKV_ARGS (extra options for every node), BENCH_TMPDIR (${TMPDIR:-/tmp}).
# Every server is started by this script and stopped by pid when it exits.
set -u
export LC_ALL=C

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=bench_evict.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
BYTES=${BENCH_EVICT_BYTES:-1073741824}
MAXMEM=${BENCH_EVICT_MAXMEMORY:-50mb}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
VALUE_SIZE=1024
CLIENTS=50
PIPELINE=16

say() { echo "bench_evict: $*" >&2; }

is_uint "$BYTES" || die "BENCH_EVICT_BYTES must be a number of bytes"
for tool in redis-benchmark redis-cli awk; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
resolve_server "$OURS_BIN"
OURS_BIN=$SERVER
N=$((BYTES / VALUE_SIZE))

bench_workdir bench-evict
OURS_EXTRA="--maxmemory $MAXMEM --maxmemory-policy allkeys-lru ${CONCORDKV_ARGS:-}"
bench_start_cluster ckv3 3
BASE=$STARTED_BASE
wait_healthy "$BASE" "three nodes" 1 2 3
LEADER=$LEADER_PORT
MAXB=$(info_field "$LEADER" memory maxmemory) || die "no INFO maxmemory"
say "leader on port $LEADER, maxmemory $MAXB bytes"

declare -A PID EMPTY PEAK END REST BOUND HWM UPEAK
for i in 1 2 3; do
    node_pid "$WORK/ckv3" "$i" || die "no pid for node $i"
    PID[$i]=$NODE_PID
    EMPTY[$i]=$(rss_kib "$NODE_PID")
    PEAK[$i]=0
    BOUND[$i]=$(awk -v m="$MAXB" -v e="${EMPTY[$i]}" 'BEGIN { printf "%d", 1.3 * m / 1024 + e }')
done

# ---- the load, with RSS sampled every 0.2 s ----
SAMPLES="$WORK/rss.samples"
(
    while :; do
        line=""
        for i in 1 2 3; do line+="$(rss_kib "${PID[$i]}" 2>/dev/null || echo 0) "; done
        for i in 1 2 3; do
            line+="$(info_field $((BASE + i)) memory used_memory 2>/dev/null || echo 0) "
        done
        echo "$line" >>"$SAMPLES"
        sleep 0.2
    done
) &
SAMPLER=$!
BENCH_PIDS+=("$SAMPLER")
say "writing $N values of $VALUE_SIZE bytes ($CLIENTS clients, -P $PIPELINE)"
T0=$(now_ms)
redis-benchmark -p "$LEADER" -t set -n "$N" -r 100000000 -d "$VALUE_SIZE" -c "$CLIENTS" \
    -P "$PIPELINE" -q >"$WORK/load.out" 2>&1
LOAD_RC=$?
T1=$(now_ms)
kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
LOAD_LINE=$(tr '\r' '\n' <"$WORK/load.out" | grep -a 'requests per second' | tail -1)
[ "$LOAD_RC" = 0 ] || say "redis-benchmark exited $LOAD_RC: $(tail -c 300 "$WORK/load.out")"
for i in 1 2 3; do
    PEAK[$i]=$(awk -v c="$i" '$c > m { m = $c } END { print m + 0 }' "$SAMPLES")
    UPEAK[$i]=$(awk -v c=$((i + 3)) '$c > m { m = $c } END { printf "%d", m / 1024 }' "$SAMPLES")
    END[$i]=$(rss_kib "${PID[$i]}")
done

# ---- convergence: the same applied index, then the same digest ----
deadline=$(($(now_ms) + 120000))
while :; do
    same=1 first=""
    for i in 1 2 3; do
        raft_info $((BASE + i)) || { same=0; break; }
        [ -z "$first" ] && first=$R_APPLIED
        [ "$R_APPLIED" = "$first" ] || same=0
    done
    if [ "$same" = 1 ]; then
        DIGESTS=()
        for i in 1 2 3; do
            resp $((BASE + i)) DEBUG DIGEST || die "node $i: no DEBUG DIGEST"
            DIGESTS+=("${RESP_REPLY#+}")
        done
        [ "${DIGESTS[0]}" = "${DIGESTS[1]}" ] && [ "${DIGESTS[1]}" = "${DIGESTS[2]}" ] && break
    fi
    [ "$(now_ms)" -lt "$deadline" ] || die "the nodes did not converge in 120 s"
    pause 0.1
done
DIGEST_OK=yes
for i in 1 2 3; do
    wait_at_rest $((BASE + i)) || say "node $i: not at rest after 30 s"
    REST[$i]=$(rss_kib "${PID[$i]}")
    HWM[$i]=$(hwm_kib "${PID[$i]}")
done
EVICTED=$(info_field "$LEADER" stats evicted_keys)
HELD=$(info_field "$LEADER" stats evict_held_writes)
KEYS=$(redis-cli -p "$LEADER" DBSIZE)
USED=$(info_field "$LEADER" memory used_memory)

# ---- noeviction: -OOM for writes, reads served ----
redis-cli -p "$LEADER" CONFIG SET maxmemory-policy noeviction >/dev/null
# fill up to the limit (redis-benchmark stops at its first error reply), then one more SET
redis-benchmark -p "$LEADER" -t set -n 200000 -r 100000000 -d "$VALUE_SIZE" -c 10 -P "$PIPELINE" \
    -q >"$WORK/fill.out" 2>&1
# then SETs of new keys one after the other on one connection until the first -OOM
V=$(printf '%01024d' 0)
OOM_REPLY=$(for ((k = 0; k < 20000; k++)); do echo "SET noevict:$k $V"; done |
    redis-cli -p "$LEADER" 2>&1 | grep -m1 -v '^OK$')
SOME_KEY=$(redis-cli -p "$LEADER" RANDOMKEY)
READ_LEN=$(redis-cli -p "$LEADER" STRLEN "$SOME_KEY")
DEL_REPLY=$(redis-cli -p "$LEADER" DEL "$SOME_KEY")
say "noeviction: $OOM_REPLY; STRLEN $SOME_KEY: $READ_LEN; DEL: $DEL_REPLY"

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
verdict() { [ "$1" -le "$2" ] && echo yes || echo no; }
SECTION="$WORK/section.md"
{
    echo "<!-- bench:evict -->"
    echo "## Memory limit and eviction (utils/bench_evict.sh)"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) vCPUs, $(uname -r). Three nodes on loopback, every node"
    echo "\`--maxmemory $MAXMEM --maxmemory-policy allkeys-lru\`; $N SETs of $VALUE_SIZE-byte values"
    echo "($(awk -v b="$BYTES" 'BEGIN { printf "%.2f", b / 1073741824 }') GiB) to random keys through the leader, redis-benchmark $CLIENTS"
    echo "clients, \`-P $PIPELINE\`: $(echo "$LOAD_LINE" | awk '{ print $2 }') SET/s, $(((T1 - T0) / 1000)) s. RSS in MiB; the bound is"
    echo "1.3 x maxmemory plus the node's RSS before the load. *peak*: the largest of the samples"
    echo "taken every 0.2 s during the load; *end*: when redis-benchmark finished; *at rest*: once"
    echo "the node had applied everything, holds no snapshot and a small log; *VmHWM*: the kernel's"
    echo "high-water mark over the node's life (it includes the moments a snapshot is held in"
    echo "memory while it is stored: docs/SERVER.md, \"Memory limit and eviction\"); *used_memory"
    echo "peak*: the largest INFO used_memory of the same samples."
    echo
    echo "| node | empty | peak | end | at rest | VmHWM | bound | peak within | at rest within | used_memory peak |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |"
    for i in 1 2 3; do
        role=follower
        [ $((BASE + i)) = "$LEADER" ] && role=leader
        echo "| $i ($role) | $(mib "${EMPTY[$i]}") | $(mib "${PEAK[$i]}") | $(mib "${END[$i]}") | $(mib "${REST[$i]}") | $(mib "${HWM[$i]}") | $(mib "${BOUND[$i]}") | $(verdict "${PEAK[$i]}" "${BOUND[$i]}") | $(verdict "${REST[$i]}" "${BOUND[$i]}") | $(mib "${UPEAK[$i]}") |"
    done
    echo
    echo "evicted_keys $EVICTED, keys left $KEYS, leader used_memory $(mib $((USED / 1024))) MiB at rest;"
    echo "writes the leader held until an eviction made room (INFO evict_held_writes): ${HELD:-?};"
    echo "DEBUG DIGEST equal on the three nodes: $DIGEST_OK (\`${DIGESTS[0]}\`)."
    echo "Then \`CONFIG SET maxmemory-policy noeviction\` on the leader and SETs until the first"
    echo "error: a SET then answered \`$OOM_REPLY\`; \`STRLEN\` of a key still answered $READ_LEN and \`DEL\` $DEL_REPLY."
    echo "<!-- /bench:evict -->"
} >"$SECTION"

write_section "$OUT" evict "$SECTION"
say "wrote $OUT"
