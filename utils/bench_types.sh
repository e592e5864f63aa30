#!/bin/bash
# Data-type benchmark (issue 9), side by side with redis-server in one run on free loopback
# ports: redis-benchmark -t set,hset,sadd,spop,zadd,zpopmin at 50 clients (SET: the reference ratio), without and with -P 16,
# against redis-server with appendfsync always, one concordkv node and the leader of a
# three-node cluster (ratios against redis); then RSS after loading hash fields across
# 10,000 keys, set members and sorted-set members into a fresh redis-server (no persistence)
# and a fresh concordkv node. A command the concordkv binary does not know (sets or sorted
# sets on a branch without them) makes its rows "n/a". Writes the section between
# <!-- bench:types --> and <!-- /bench:types --> of docs/BENCHMARKS.md.
#
#   utils/bench_types.sh
#   BENCH_N=2000 BENCH_N_P16=5000 BENCH_MEMBERS=20000 BENCH_OUT=/tmp/t.md utils/bench_types.sh
#
# Environment: BENCH_PARTS ("throughput memory": either or both); BENCH_N (100000) and
# BENCH_N_P16 (300000) requests per redis-benchmark test; BENCH_RUNS (1) runs of each test on
# each server, interleaved, the median reported;
# BENCH_MEMBERS (1000000) hash fields, set members and sorted-set members loaded for each RSS
# figure; BENCH_OUT (docs/BENCHMARKS.md); REDIS_SERVER (redis-server); CONCORDKV_SERVER
# (<repo>/concordkv-server); CONCORDKV_ARGS (extra options for every concordkv node);
# BENCH_TMPDIR (${TMPDIR:-/tmp}). Every server is started here and stopped by pid at exit.
set -u
export LC_ALL=C

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=bench_types.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
PARTS=${BENCH_PARTS:-throughput memory}
N=${BENCH_N:-100000}
N_P16=${BENCH_N_P16:-300000}
RUNS=${BENCH_RUNS:-1}
MEMBERS=${BENCH_MEMBERS:-1000000}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
REDIS_BIN=${REDIS_SERVER:-redis-server}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
OURS_EXTRA=${CONCORDKV_ARGS:-}
TESTS=(set hset sadd spop zadd zpopmin) # set: the write path's reference ratio
HASH_KEYS=10000

for tool in redis-benchmark redis-cli awk timeout "$REDIS_BIN"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
is_uint "$N" && is_uint "$N_P16" && is_uint "$MEMBERS" && is_uint "$RUNS" && [ "$RUNS" -ge 1 ] ||
    die "BENCH_N, BENCH_N_P16, BENCH_MEMBERS, BENCH_RUNS: integers (BENCH_RUNS at least 1)"
[ "$MEMBERS" -ge "$HASH_KEYS" ] || die "BENCH_MEMBERS must be at least $HASH_KEYS"
resolve_server "$OURS_BIN"
OURS_BIN=$SERVER
bench_workdir types
say() { echo "bench_types: $*" >&2; }

# start_ours NAME N: an N-node cluster; sets STARTED_PORT (the leader's RESP port).
start_ours() {
    local name=$1 n=$2 ids
    bench_start_cluster "$name" "$n"
    ids=$(seq 1 "$n")
    # shellcheck disable=SC2086
    wait_healthy "$STARTED_BASE" "$name" $ids
    STARTED_PORT=$LEADER_PORT
}

# supported PORT CMD: whether the server on PORT knows CMD (COMMAND INFO names it).
supported() {
    redis-cli -h 127.0.0.1 -p "$1" COMMAND INFO "$2" 2>/dev/null | grep -qix "$2"
}

# rps PORT TEST PIPE N: requests per second of one redis-benchmark test, or "" on failure;
# anything redis-benchmark prints besides its CSV (an error reply, a lost connection) is
# kept in $WORK/errors and counted in the report.
ERRORS=0
rps() {
    local port=$1 test=$2 pipe=$3 n=$4 out err
    out=$(timeout 900 redis-benchmark -h 127.0.0.1 -p "$port" -t "$test" -n "$n" -c 50 -P "$pipe" \
        -r 100000 --csv 2>"$WORK/stderr")
    err=$( (grep -v '^"' <<<"$out"; cat "$WORK/stderr") | grep -v '^$' | head -5)
    if [ -n "$err" ]; then
        ERRORS=$((ERRORS + 1))
        printf 'port %s %s -P %s: %s\n' "$port" "$test" "$pipe" "$err" >>"$WORK/errors"
        say "errors from $test -P $pipe on port $port: $err"
    fi
    awk -F, 'NR > 1 { gsub(/"/, "", $2); print $2; exit }' <<<"$out"
}

# ---- throughput ----
ROWS=""
set1="" set3="" # SET's ratios for this pipeline: the /SET columns divide by them
# median N...: the median of the numbers given (empty ones left out), "" for none.
median() {
    printf '%s\n' "$@" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
if [[ " $PARTS " == *" throughput "* ]]; then
bench_start_redis redis-always --save "" --appendonly yes --appendfsync always
P_ALWAYS=$STARTED_PORT
start_ours ckv1 1
P_ONE=$STARTED_PORT
start_ours ckv3 3
P_THREE=$STARTED_PORT

for pipe in 1 16; do
    n=$N
    [ "$pipe" -gt 1 ] && n=$N_P16
    for test in "${TESTS[@]}"; do
        say "$test, pipeline $pipe"
        rs=() c1s=() c3s=()
        for ((run = 0; run < RUNS; run++)); do # interleaved: each server sees the same sequence
            rs+=("$(rps "$P_ALWAYS" "$test" "$pipe" "$n")")
            if supported "$P_ONE" "$test"; then
                c1s+=("$(rps "$P_ONE" "$test" "$pipe" "$n")")
                c3s+=("$(rps "$P_THREE" "$test" "$pipe" "$n")")
            fi
        done
        r=$(median "${rs[@]}") c1=$(median "${c1s[@]}") c3=$(median "${c3s[@]}")
        q1=$(ratio "$c1" "$r") q3=$(ratio "$c3" "$r")
        if [ "$test" = set ]; then set1=$q1 set3=$q3; fi
        ROWS+="| $test | $pipe | ${r:-n/a} | ${c1:-n/a} | $q1 | $(ratio "$q1" "$set1") | ${c3:-n/a} | $q3 | $(ratio "$q3" "$set3") |"$'\n'
    done
done
fi

# ---- memory ----
# gen KIND FILE: RESP commands loading MEMBERS elements of KIND (hash: HASH_KEYS keys).
gen() {
    awk -v kind="$1" -v n="$MEMBERS" -v keys="$HASH_KEYS" '
        function bulk(s) { return "$" length(s) "\r\n" s "\r\n" }
        function cmd(name, key, from, to, i, out, argc) {
            out = ""; argc = 2
            for (i = from; i < to; i++) {
                if (kind == "hash") out = out bulk("field:" i) bulk("value:" i)
                else if (kind == "set") out = out bulk("member:" i)
                else out = out bulk(i * 1.5) bulk("member:" i)
                argc += (kind == "set") ? 1 : 2
            }
            printf "*%d\r\n%s%s%s", argc, bulk(name), bulk(key), out
        }
        BEGIN {
            if (kind == "hash") {
                per = int(n / keys)
                for (k = 0; k < keys; k++) cmd("HSET", "hash:" k, k * per, (k + 1) * per)
            } else {
                for (b = 0; b < n; b += 1000) cmd(kind == "set" ? "SADD" : "ZADD", kind, b, (b + 1000 < n ? b + 1000 : n))
            }
        }' >"$2"
}

# load PORT PID FILE: "RSS PEAK" in KiB after piping FILE into the server and waiting for it
# to be at rest (wait_at_rest: a snapshot's buffers are transient, and an idle node trims its
# log): VmRSS then, and VmHWM, the peak over the whole load; "" if the load failed.
load() {
    local out
    out=$(timeout 900 redis-cli -h 127.0.0.1 -p "$1" --pipe <"$3" 2>&1)
    grep -q "errors: 0," <<<"$out" || { say "load failed: $(tail -1 <<<"$out")"; return 0; }
    wait_at_rest "$1" 60000 || say "port $1: not at rest (a snapshot, or its log) after 60 s"
    echo "$(rss_kib "$2") $(hwm_kib "$2")"
}

MEM_ROWS=""
[[ " $PARTS " == *" memory "* ]] && MEM_KINDS="hash set zset" || MEM_KINDS=""
for kind in $MEM_KINDS; do
    cmd=$(case $kind in hash) echo hset ;; set) echo sadd ;; zset) echo zadd ;; esac)
    gen "$kind" "$WORK/$kind.resp"
    say "memory, $kind: redis-server"
    bench_start_redis "redis-$kind" --save "" --appendonly no
    read -r r rp <<<"$(load "$STARTED_PORT" "$STARTED_PID" "$WORK/$kind.resp")"
    stop_pid "$STARTED_PID" 10000
    say "memory, $kind: concordkv"
    start_ours "ckv-$kind" 1
    c="" cp=""
    if supported "$STARTED_PORT" "$cmd"; then
        node_pid "$WORK/ckv-$kind" 1
        read -r c cp <<<"$(load "$STARTED_PORT" "$NODE_PID" "$WORK/$kind.resp")"
    fi
    stop_cluster_dir "$WORK/ckv-$kind"
    mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || echo n/a; }
    MEM_ROWS+="| $kind | $MEMBERS | $(mib "$r") | $(mib "$c") | $(ratio "$c" "$r") | $(mib "$rp") | $(mib "$cp") | $(ratio "$cp" "$rp") |"$'\n'
    say "memory, $kind: redis $(mib "$r") MiB, concordkv $(mib "$c") MiB, ratio $(ratio "$c" "$r")"
done

# ---- report ----
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
SECTION="$WORK/section.md"
{
    echo "<!-- bench:types -->"
    echo "## Data types: concordkv vs redis-server"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs (${CPU:-unknown CPU}),"
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $("$REDIS_BIN" --version | awk '{ print $1, $2, $3 }');"
    echo "concordkv \`$OURS_BIN\` (commit $REV). One run of \`utils/bench_types.sh\`"
    echo "(BENCH_N=$N BENCH_N_P16=$N_P16 BENCH_RUNS=$RUNS BENCH_MEMBERS=$MEMBERS)."
    echo
    echo "Throughput: \`redis-benchmark -t TEST -n N -c 50 -P PIPE -r 100000 --csv\`, requests/s"
    echo "(the median of BENCH_RUNS runs, interleaved across the servers);"
    echo "redis-server with \`--appendonly yes --appendfsync always\`; concordkv one node, and the"
    echo "leader of three nodes. n/a: the command is not implemented on this build. \"/SET\": the"
    echo "ratio over SET's ratio in the same column and pipeline (the issue asks for 0.9 or more)."
    echo
    echo "| test | pipeline | redis | concordkv 1 node | ratio | /SET | concordkv 3 nodes | ratio | /SET |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s' "$ROWS"
    echo
    echo "redis-benchmark printed errors in $ERRORS of its runs$( [ "$ERRORS" -gt 0 ] && echo ": $(head -3 "$WORK/errors" | tr '\n' ' ')")."
    echo
    echo "Memory: RSS (MiB) after \`redis-cli --pipe\` loads into a fresh server: hash fields"
    echo "across $HASH_KEYS keys (\`field:i\` = \`value:i\`), members of one set (\`member:i\`),"
    echo "members of one sorted set (score i × 1.5); redis-server without persistence. RSS is read"
    echo "once the load is answered and the node is at rest: no snapshot in progress (a snapshot"
    echo "holds the serialized state until it is on disk) and no more log than its idle limit; the"
    echo "peak is VmHWM over the whole load."
    echo
    echo "| type | elements | redis-server | concordkv | concordkv/redis | redis peak | concordkv peak | peak ratio |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s' "$MEM_ROWS"
    echo "<!-- /bench:types -->"
} >"$SECTION"
write_section "$OUT" types "$SECTION"
say "wrote $OUT"
