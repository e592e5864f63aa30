#!/bin/bash
# Side-by-side benchmark of redis-server (no persistence) and concordkv-server in one run:
# redis-benchmark SET/GET throughput and p50, and RSS after loading 1M keys. Writes the
# section between <!-- bench:core --> and <!-- /bench:core --> of docs/BENCHMARKS.md.
#
#   utils/bench.sh                                  # ./concordkv-server vs redis-server
#   CONCORDKV_SERVER=/path/to/concordkv-server utils/bench.sh
#   CONCORDKV_SERVER=redis-server utils/bench.sh    # dry run: redis-server on both sides
# Environment: BENCH_N_C50 (default 100000), BENCH_N_P16 (1000000), BENCH_N_C1 (20000) requests
# per test; BENCH_KEYS (1000000) keys for the memory figure; BENCH_OUT (docs/BENCHMARKS.md);
# REDIS_SERVER (redis-server); CONCORDKV_ARGS extra options for concordkv-server.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=bench.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
N_C50=${BENCH_N_C50:-100000}
N_P16=${BENCH_N_P16:-1000000}
N_C1=${BENCH_N_C1:-20000}
N_KEYS=${BENCH_KEYS:-1000000}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
REDIS_BIN=${REDIS_SERVER:-redis-server}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
OURS_EXTRA=${CONCORDKV_ARGS:-}
VALUE_SIZE=256
KEYSPACE=100000

for tool in redis-benchmark redis-cli awk timeout "$REDIS_BIN"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
resolve_server "$OURS_BIN"
OURS_BIN=$SERVER

bench_workdir bench

# A redis-server standing in for concordkv (dry runs) is recognised by its name.
is_redis() { case "$(basename "$1")" in redis-server*) return 0 ;; *) return 1 ;; esac; }

# start NAME BIN: starts BIN on a free port; sets STARTED_PORT and STARTED_PID.
start() {
    local name=$1 bin=$2 port dir log pid
    # Raft ports (+10000) stay below the kernel's ephemeral range (32768 up).
    port=$(free_base 0 20000 2700)
    dir="$WORK/$name-$port"
    log="$WORK/$name-$port.log"
    mkdir -p "$dir"
    if is_redis "$bin"; then
        "$bin" --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
            >"$log" 2>&1 &
    else
        node_argv 1 "$port" "$dir"
        # shellcheck disable=SC2086
        "$bin" "${NODE_ARGV[@]}" $OURS_EXTRA >"$log" 2>&1 &
    fi
    pid=$!
    BENCH_PIDS+=("$pid")
    wait_ping "$port" "$pid" 10000 || { cat "$log" >&2; die "$name ($bin) did not start on port $port"; }
    STARTED_PORT=$port
    STARTED_PID=$pid
}



# ---- memory: RSS after loading N_KEYS keys of 16 bytes with 32-byte values ----
echo "bench: generating $N_KEYS SETs" >&2
awk -v n="$N_KEYS" 'BEGIN { for (i = 0; i < n; i++) {
        printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$32\r\n%032d\r\n", i, i } }' \
    >"$WORK/load.resp"

# load NAME BIN: prints "rss_before_kib rss_after_kib".
load() {
    local name=$1 bin=$2 out before after
    start "$name" "$bin"
    before=$(rss_kib "$STARTED_PID")
    out=$(timeout 900 redis-cli -h 127.0.0.1 -p "$STARTED_PORT" --pipe <"$WORK/load.resp" 2>&1)
    grep -q "errors: 0, replies: $N_KEYS" <<<"$out" || die "$name: --pipe load failed: $out"
    [ "$(redis-cli -h 127.0.0.1 -p "$STARTED_PORT" DBSIZE)" = "$N_KEYS" ] ||
        die "$name: DBSIZE is not $N_KEYS after loading"
    after=$(rss_kib "$STARTED_PID")
    stop_pid "$STARTED_PID" 10000
    echo "$before $after"
}

echo "bench: memory, redis-server" >&2
read -r R_RSS0 R_RSS1 <<<"$(load redis "$REDIS_BIN")" || exit 1
[ -n "${R_RSS1:-}" ] || die "redis memory phase failed"
echo "bench: memory, concordkv" >&2
read -r C_RSS0 C_RSS1 <<<"$(load concordkv "$OURS_BIN")" || exit 1
[ -n "${C_RSS1:-}" ] || die "concordkv memory phase failed"

# ---- throughput ----
start redis "$REDIS_BIN"
R_PORT=$STARTED_PORT
start concordkv "$OURS_BIN"
C_PORT=$STARTED_PORT

# bench PORT N ARGS...: prints "SET_rps SET_p50 GET_rps GET_p50" from --csv output.
bench() {
    local port=$1 n=$2
    shift 2
    timeout 900 redis-benchmark -h 127.0.0.1 -p "$port" -t set,get -d "$VALUE_SIZE" \
        -r "$KEYSPACE" -n "$n" --csv "$@" 2>/dev/null |
        awk -F, '
            { for (i = 1; i <= NF; i++) gsub(/"/, "", $i) }
            NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
            { rps[$1] = $(col["rps"]); p50[$1] = $(col["p50_latency_ms"]) }
            END { printf "%s %s %s %s\n", (rps["SET"] == "" ? "-" : rps["SET"]),
                  (p50["SET"] == "" ? "-" : p50["SET"]), (rps["GET"] == "" ? "-" : rps["GET"]),
                  (p50["GET"] == "" ? "-" : p50["GET"]) }'
}

ROWS=""
row() {
    local test=$1 clients=$2 pipe=$3 rr rp cr cp
    rr=$4 rp=$5 cr=$6 cp=$7
    [ "$rr" = "-" ] && rr=""
    [ "$cr" = "-" ] && cr=""
    ROWS+="| $test | $clients | $pipe | ${rr:-n/a} | ${cr:-n/a} | $(ratio "$cr" "$rr") |"
    ROWS+=" ${rp/-/n/a} | ${cp/-/n/a} |"$'\n'
}

run_case() {
    local label=$1 clients=$2 pipe=$3 n=$4 extra r c
    extra=(-c "$clients")
    [ "$pipe" -gt 1 ] && extra+=(-P "$pipe")
    echo "bench: $label, redis-server" >&2
    read -r -a r <<<"$(bench "$R_PORT" "$n" "${extra[@]}")"
    echo "bench: $label, concordkv" >&2
    read -r -a c <<<"$(bench "$C_PORT" "$n" "${extra[@]}")"
    row SET "$clients" "$pipe" "${r[0]}" "${r[1]}" "${c[0]}" "${c[1]}"
    row GET "$clients" "$pipe" "${r[2]}" "${r[3]}" "${c[2]}" "${c[3]}"
}

run_case "50 clients" 50 1 "$N_C50"
run_case "50 clients, pipeline 16" 50 16 "$N_P16"
run_case "1 client" 1 1 "$N_C1"

# ---- report ----
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
SECTION="$WORK/section.md"
{
    echo "<!-- bench:core -->"
    echo "## Core: concordkv-server vs redis-server"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs (${CPU:-unknown CPU}),"
    echo "Linux $(uname -r); $("$REDIS_BIN" --version | awk '{ print $1, $2, $3 }') with"
    echo "\`--save \"\" --appendonly no\`; concordkv: \`$OURS_BIN\` (commit $REV), a single node."
    echo "Both servers ran side by side in one run of \`utils/bench.sh\`"
    echo "(BENCH_N_C50=$N_C50 BENCH_N_P16=$N_P16 BENCH_N_C1=$N_C1 BENCH_KEYS=$N_KEYS)."
    echo
    echo "Each row: \`redis-benchmark -h 127.0.0.1 -p PORT -t set,get -d $VALUE_SIZE" \
        "-r $KEYSPACE -n N -c CLIENTS [-P 16] --csv\`; N = $N_C50 (50 clients)," \
        "$N_P16 (pipeline 16), $N_C1 (1 client). p50 in ms."
    echo
    echo "| test | clients | pipeline | redis ops/s | concordkv ops/s | concordkv/redis | redis p50 | concordkv p50 |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s' "$ROWS"
    echo
    echo "Memory: RSS (VmRSS) after loading $N_KEYS keys (16-byte keys, 32-byte values) with"
    echo "\`redis-cli --pipe\` into a fresh server."
    echo
    echo "| server | RSS empty (MiB) | RSS loaded (MiB) |"
    echo "| --- | ---: | ---: |"
    echo "| redis-server | $(mib "$R_RSS0") | $(mib "$R_RSS1") |"
    echo "| concordkv-server | $(mib "$C_RSS0") | $(mib "$C_RSS1") |"
    echo "| concordkv/redis | | $(ratio "$C_RSS1" "$R_RSS1") |"
    echo "<!-- /bench:core -->"
} >"$SECTION"

write_section "$OUT" core "$SECTION"
echo "bench: wrote $OUT" >&2
