#!/bin/bash
# Job-queue benchmark (issue 10), side by side with redis-server in one run on free loopback
# ports: PRODUCERS processes LPUSH q N items between them (PIPELINE at a time; an item is its
# send time, a unique id and padding to 100 bytes) while CONSUMERS processes loop BRPOP q 1
# (BENCH_POP=blpop: BLPOP q 1), with utils/bench_queue.py: items/s from the first push to the
# last pop, push-to-pop latency p50/p99 over every item, items pushed and popped (a lost or
# duplicated item is an error). Against redis-server with appendfsync always (the ratios'
# baseline), redis-server without persistence, one concordkv node and the leader of a
# three-node cluster (producers and consumers all on the leader). LPUSH and BRPOP work
# opposite ends, a FIFO (RQ's and Celery's pattern); BENCH_POP=blpop pairs RPUSH with BLPOP.
# Writes the section between <!-- bench:queue --> and <!-- /bench:queue --> of
# docs/BENCHMARKS.md; when a run loses or duplicates an item, or fails, the rows are
# printed, the section is not written and the exit status is 1.
#
#   utils/bench_queue.sh
#   BENCH_N=2000 BENCH_OUT=/tmp/t.md utils/bench_queue.sh
#
# Environment: BENCH_N (20000) items per server; BENCH_PRODUCERS (4); BENCH_CONSUMERS (4);
# BENCH_PIPELINE (1) push commands in flight per producer; BENCH_DEADLINE (120) seconds for
# one server's run (consumers stop at it); BENCH_POP (brpop, or blpop); BENCH_OUT
# (docs/BENCHMARKS.md); REDIS_SERVER (redis-server); CONCORDKV_SERVER
# (<repo>/concordkv-server); CONCORDKV_ARGS (extra options for every concordkv node);
# BENCH_TMPDIR (${TMPDIR:-/tmp}). Every server is started here and stopped by pid at exit.
set -u
export LC_ALL=C

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# PROG and OURS_EXTRA are read by utils/lib.sh (die, bench_start_cluster), which a plain
# run of shellcheck does not follow (shellcheck -x does).
# shellcheck disable=SC2034
PROG=bench_queue.sh
# shellcheck source=utils/lib.sh disable=SC1091
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
N=${BENCH_N:-20000}
PRODUCERS=${BENCH_PRODUCERS:-4}
CONSUMERS=${BENCH_CONSUMERS:-4}
PIPE=${BENCH_PIPELINE:-1}
DEADLINE=${BENCH_DEADLINE:-120}
POP=${BENCH_POP:-brpop}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
REDIS_BIN=${REDIS_SERVER:-redis-server}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
# shellcheck disable=SC2034
OURS_EXTRA=${CONCORDKV_ARGS:-}
PY=/usr/bin/python3

for tool in awk fmt timeout "$REDIS_BIN" "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
for v in "$N" "$PRODUCERS" "$CONSUMERS" "$PIPE" "$DEADLINE"; do
    if ! is_uint "$v" || [ "$v" -eq 0 ]; then
        die "BENCH_N, BENCH_PRODUCERS, BENCH_CONSUMERS, BENCH_PIPELINE, BENCH_DEADLINE: positive integers"
    fi
done
case "$POP" in brpop | blpop) ;; *) die "BENCH_POP: brpop or blpop" ;; esac
resolve_server "$OURS_BIN"
OURS_BIN=$SERVER
bench_workdir queue
say() { echo "bench_queue: $*" >&2; }

# field LINE NAME: the value of NAME=... in bench_queue.py's output line.
field() { awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' <<<"$1"; }


# run LABEL PORT: one table row appended to ROWS; a failed run (exit status, loss, duplicate)
# marks its row and sets FAILED. The first row is the baseline of the ratios.
ROWS="" FAILED="" BASE_RATE="" BASE_P50=""
run() {
    local label=$1 out rc rate p50
    say "$label"
    out=$(timeout $((DEADLINE + 60)) "$PY" "$ROOT/utils/bench_queue.py" --port "$2" -n "$N" \
        -p "$PRODUCERS" -c "$CONSUMERS" -P "$PIPE" --deadline "$DEADLINE" --pop "$POP" 2>"$WORK/py.err")
    rc=$?
    say "  ${out:-no output} (exit $rc)"
    [ -s "$WORK/py.err" ] && say "  $(tail -3 "$WORK/py.err")"
    rate=$(field "$out" items_per_s)
    p50=$(field "$out" p50_us)
    if [ -z "$BASE_RATE" ]; then BASE_RATE=$rate BASE_P50=$p50; fi
    if [ "$rc" != 0 ] || [ -z "$rate" ]; then
        FAILED+="$label: $(tail -1 "$WORK/py.err" 2>/dev/null) (exit $rc)"$'\n'
        label="$label **(failed)**"
    fi
    ROWS+="| $label | ${rate:-n/a} | $(ratio "$rate" "$BASE_RATE") | ${p50:-n/a} | $(ratio "$p50" "$BASE_P50") |"
    ROWS+=" $(field "$out" p99_us) | $(field "$out" pushed) | $(field "$out" popped) | $(field "$out" lost)/$(field "$out" dup) |"$'\n'
}

bench_start_redis redis-always --save "" --appendonly yes --appendfsync always
run "redis-server appendfsync always" "$STARTED_PORT"
stop_pid "$STARTED_PID" 10000
bench_start_redis redis-plain --save "" --appendonly no
run "redis-server, no persistence" "$STARTED_PORT"
stop_pid "$STARTED_PID" 10000
bench_start_cluster one 1
wait_healthy "$STARTED_BASE" one 1
run "concordkv 1 node" "$LEADER_PORT"
stop_cluster_dir "$WORK/one"
bench_start_cluster three 3
wait_healthy "$STARTED_BASE" three 1 2 3
run "concordkv 3 nodes (leader)" "$LEADER_PORT"
stop_cluster_dir "$WORK/three"

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
CMD="utils/bench_queue.sh"
for v in BENCH_POP BENCH_DEADLINE BENCH_PIPELINE BENCH_CONSUMERS BENCH_PRODUCERS BENCH_N; do
    [ -n "${!v:-}" ] && CMD="$v=${!v} $CMD"
done
[ -n "$OURS_EXTRA" ] && CMD="CONCORDKV_ARGS='$OURS_EXTRA' $CMD"
SECTION=$WORK/section.md
POPC=${POP^^}
PUSHC=LPUSH
[ "$POP" = blpop ] && PUSHC=RPUSH
ORDER="$PUSHC and $POPC work opposite ends, so the list is a FIFO (RQ's and Celery's pattern):"
ORDER+=" every item waits behind the backlog, so p50 and p99 both grow with it."
{
    echo "<!-- bench:queue -->"
    echo "## Job queue: $PUSHC producers, $POPC consumers"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs (${CPU:-unknown CPU}),"
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $("$REDIS_BIN" --version | awk '{ print $1, $2, $3 }');"
    echo "concordkv \`$OURS_BIN\` (commit $REV). One run of \`$CMD\`:"
    echo "$N items of 100 bytes per server, $PRODUCERS producer processes \`$PUSHC q <item>\` ($PIPE in"
    echo "flight each), $CONSUMERS consumer processes looping \`$POPC q 1\`, all Python (utils/bench_queue.py)"
    echo "on this machine. items/s: items popped over the time from the first push to the last pop;"
    echo "latency: a consumer's receive time minus the send time carried in the item, over every"
    echo "item; \"lost/dup\": items pushed but never popped / popped twice (both must be 0)."
    echo
    echo "| server | items/s | /always | p50 µs | /always | p99 µs | pushed | popped | lost/dup |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s' "$ROWS"
    echo
    {
        echo "Reading the figures: the producers do not wait for the consumers, so whenever pushes"
        echo "run ahead of pops the items wait in the list, and the latency is mostly that wait. $ORDER"
        echo "Every concordkv push is a log entry and so is every pop that a blocking pop serves"
        echo "(batched with whatever else is in flight); redis with appendfsync always writes and"
        echo "fsyncs its AOF before it replies to a write, pops included, the durability closest to"
        echo "a replicated write's: that row is the baseline of the ratios (items/s: higher is"
        echo "better; p50: lower is better). The $((PRODUCERS + CONSUMERS)) client processes share the $(nproc) CPUs with"
        echo "the server(s), and the machine is shared with other work: compare rows of one run only."
    } | fmt -w 95 | sed "s/\.  /. /g"
    echo "<!-- /bench:queue -->"
} >"$SECTION"

if [ -n "$FAILED" ]; then
    cat "$SECTION" >&2
    die "not writing $OUT: $(printf '%s' "$FAILED" | tr '\n' ';')"
fi
write_section "$OUT" queue "$SECTION"
say "wrote $OUT"
