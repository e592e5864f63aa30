#!/bin/bash
# List benchmark (issue 10), side by side with redis-server in one run on free loopback ports:
# redis-benchmark -t lpush,rpush,lpop,rpop,lrange_100,lrange_600 at 50 clients, without and
# with -P 16, against redis-server (no persistence, and with appendfsync always), one
# concordkv node and the leader of a three-node cluster (ratios against redis); then RSS
# after loading 1,000,000 list elements into one list of a fresh redis-server (no
# persistence) and of a fresh concordkv node. Writes the section between <!-- bench:lists -->
# and <!-- /bench:lists --> of docs/BENCHMARKS.md.
#
#   utils/bench_lists.sh
#   BENCH_N=2000 BENCH_N_P16=5000 BENCH_MEMBERS=20000 BENCH_OUT=/tmp/t.md utils/bench_lists.sh
#
# Environment: BENCH_PARTS ("throughput memory": either or both); BENCH_N (100000) and
# BENCH_N_P16 (300000) requests per redis-benchmark test;
# BENCH_MEMBERS (1000000) list elements loaded for the RSS figure; BENCH_OUT
# (docs/BENCHMARKS.md); REDIS_SERVER (redis-server); CONCORDKV_SERVER
# (<repo>/concordkv-server); CONCORDKV_ARGS (extra options for every concordkv node);
# BENCH_TMPDIR (${TMPDIR:-/tmp}). Every server is started here and stopped by pid at exit.
set -u
export LC_ALL=C

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=bench_lists.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
PARTS=${BENCH_PARTS:-throughput memory}
N=${BENCH_N:-100000}
N_P16=${BENCH_N_P16:-300000}
MEMBERS=${BENCH_MEMBERS:-1000000}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
REDIS_BIN=${REDIS_SERVER:-redis-server}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
OURS_EXTRA=${CONCORDKV_ARGS:-}
TESTS=(lpush rpush lpop rpop lrange_100 lrange_600)

for tool in redis-benchmark redis-cli awk timeout "$REDIS_BIN"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
is_uint "$N" && is_uint "$N_P16" && is_uint "$MEMBERS" || die "BENCH_N, BENCH_N_P16, BENCH_MEMBERS: integers"
resolve_server "$OURS_BIN"
OURS_BIN=$SERVER
bench_workdir lists
say() { echo "bench_lists: $*" >&2; }

# start_ours NAME N: an N-node cluster; sets STARTED_PORT (the leader's RESP port).
start_ours() {
    local name=$1 n=$2 ids
    bench_start_cluster "$name" "$n"
    ids=$(seq 1 "$n")
    # shellcheck disable=SC2086
    wait_healthy "$STARTED_BASE" "$name" $ids
    STARTED_PORT=$LEADER_PORT
}

# rps PORT TEST PIPE N: requests per second of one redis-benchmark test, or "" on failure.
# The LRANGE tests first fill their list with an LPUSH row of their own: skip it.
rps() {
    local port=$1 test=$2 pipe=$3 n=$4
    timeout 900 redis-benchmark -h 127.0.0.1 -p "$port" -t "$test" -n "$n" -c 50 -P "$pipe" \
        --csv 2>/dev/null |
        awk -F, -v t="$(tr '[:lower:]' '[:upper:]' <<<"$test")" '
            NR > 1 && $1 !~ /needed/ { gsub(/"/, "", $1); gsub(/"/, "", $2)
                split($1, w, " "); if (w[1] == t) { print $2; exit } }'
}


# ---- throughput ----
ROWS=""
if [[ " $PARTS " == *" throughput "* ]]; then
bench_start_redis redis-plain --save "" --appendonly no
P_PLAIN=$STARTED_PORT
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
        r=$(rps "$P_PLAIN" "$test" "$pipe" "$n")
        ra=$(rps "$P_ALWAYS" "$test" "$pipe" "$n")
        c1=$(rps "$P_ONE" "$test" "$pipe" "$n")
        c3=$(rps "$P_THREE" "$test" "$pipe" "$n")
        ROWS+="| $test | $pipe | ${r:-n/a} | ${ra:-n/a} | ${c1:-n/a} | $(ratio "$c1" "$r") | $(ratio "$c1" "$ra") | ${c3:-n/a} | $(ratio "$c3" "$ra") |"$'\n'
    done
done
fi

# ---- memory ----
mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || echo n/a; }
if [[ " $PARTS " == *" memory "* ]]; then
# One list of MEMBERS elements (element:i), RPUSH 1,000 at a time.
awk -v n="$MEMBERS" '
    function bulk(s) { return "$" length(s) "\r\n" s "\r\n" }
    BEGIN {
        for (b = 0; b < n; b += 1000) {
            to = b + 1000 < n ? b + 1000 : n; out = ""
            for (i = b; i < to; i++) out = out bulk("element:" i)
            printf "*%d\r\n%s%s%s", to - b + 2, bulk("RPUSH"), bulk("list"), out
        }
    }' >"$WORK/list.resp"

# load PORT PID FILE: RSS in KiB after piping FILE into the server and waiting for it to be
# at rest (wait_at_rest: a snapshot's buffers are transient, and an idle node trims its
# log), "" if the load failed.
load() {
    local out
    out=$(timeout 900 redis-cli -h 127.0.0.1 -p "$1" --pipe <"$3" 2>&1)
    grep -q "errors: 0," <<<"$out" || { say "load failed: $(tail -1 <<<"$out")"; return 0; }
    wait_at_rest "$1" 60000 || say "port $1: not at rest (a snapshot, or its log) after 60 s"
    rss_kib "$2"
}

say "memory: redis-server"
bench_start_redis redis-mem --save "" --appendonly no
R0=$(rss_kib "$STARTED_PID")
RM=$(load "$STARTED_PORT" "$STARTED_PID" "$WORK/list.resp")
RLEN=$(redis-cli -h 127.0.0.1 -p "$STARTED_PORT" LLEN list)
RUSE=$(redis-cli -h 127.0.0.1 -p "$STARTED_PORT" MEMORY USAGE list SAMPLES 0)
RUM=$(info_field "$STARTED_PORT" memory used_memory)
RHWM=$(hwm_kib "$STARTED_PID")
stop_pid "$STARTED_PID" 10000
say "memory: concordkv"
start_ours ckv-mem 1
node_pid "$WORK/ckv-mem" 1
C0=$(rss_kib "$NODE_PID")
CM=$(load "$STARTED_PORT" "$NODE_PID" "$WORK/list.resp")
CLEN=$(redis-cli -h 127.0.0.1 -p "$STARTED_PORT" LLEN list)
CENC=$(redis-cli -h 127.0.0.1 -p "$STARTED_PORT" OBJECT ENCODING list)
CUSE=$(redis-cli -h 127.0.0.1 -p "$STARTED_PORT" MEMORY USAGE list SAMPLES 0)
CUM=$(info_field "$STARTED_PORT" memory used_memory)
CHWM=$(hwm_kib "$NODE_PID")
stop_cluster_dir "$WORK/ckv-mem"
fi

# ---- report ----
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
SECTION="$WORK/section.md"
{
    echo "<!-- bench:lists -->"
    echo "## Lists (issue 10): concordkv vs redis-server"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs (${CPU:-unknown CPU}),"
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $("$REDIS_BIN" --version | awk '{ print $1, $2, $3 }');"
    echo "concordkv \`$OURS_BIN\` (commit $REV). One run of \`utils/bench_lists.sh\`"
    echo "(BENCH_PARTS=\"$PARTS\" BENCH_N=$N BENCH_N_P16=$N_P16 BENCH_MEMBERS=$MEMBERS)."
    if [[ " $PARTS " == *" throughput "* ]]; then
    echo
    echo "Throughput: \`redis-benchmark -t TEST -n N -c 50 -P PIPE --csv\`, requests/s;"
    echo "redis-server without persistence (\"redis\") and with \`--appendonly yes --appendfsync"
    echo "always\` (\"redis always\"); concordkv one node, and the leader of three nodes."
    echo
    echo "| test | pipeline | redis | redis always | concordkv 1 node | /redis | /always | concordkv 3 nodes | /always |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s' "$ROWS"
    fi
    if [[ " $PARTS " == *" memory "* ]]; then
    echo
    echo "Memory: RSS (MiB) of a fresh server before and after \`redis-cli --pipe\` loads one list"
    echo "of $MEMBERS elements \`element:i\` (RPUSH, 1,000 per command); redis-server without"
    echo "persistence. concordkv's list: LLEN $CLEN, OBJECT ENCODING $CENC (redis: LLEN $RLEN). RSS"
    echo "loaded is read once the load is answered and the node is at rest: no snapshot in"
    echo "progress (a snapshot holds the serialized state until it is on disk) and no more log than"
    echo "its idle limit; peak is VmHWM over the load."
    echo
    echo "| server | RSS empty | RSS loaded | growth | peak | used_memory | MEMORY USAGE list |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    echo "| redis-server | $(mib "$R0") | $(mib "$RM") | $(mib "$([ -n "$RM" ] && echo $((RM - R0)))") | $(mib "$RHWM") | $(mib "$((${RUM:-0} / 1024))") | $(mib "$((${RUSE:-0} / 1024))") |"
    echo "| concordkv | $(mib "$C0") | $(mib "$CM") | $(mib "$([ -n "$CM" ] && echo $((CM - C0)))") | $(mib "$CHWM") | $(mib "$((${CUM:-0} / 1024))") | $(mib "$((${CUSE:-0} / 1024))") |"
    echo
    echo "RSS loaded, concordkv/redis: $(ratio "$CM" "$RM"); growth, concordkv/redis: $(ratio "$([ -n "$CM" ] && echo $((CM - C0)))" "$([ -n "$RM" ] && echo $((RM - R0)))")."
    fi
    echo "<!-- /bench:lists -->"
} >"$SECTION"
write_section "$OUT" lists "$SECTION"
say "wrote $OUT"
