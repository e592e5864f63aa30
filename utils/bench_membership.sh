#!/bin/bash
# Membership benchmark, in one run on free loopback ports:
#  1. adding a voter to a three-node cluster holding BENCH_KEYS keys (16-byte keys, 32-byte
#     values, loaded with redis-cli --pipe into the leader): a fresh node 4 (--bootstrap no,
#     empty dir, --read-consistency stale) is added with CLUSTER ADDNODE; timed until the
#     +OK, and until node 4's DBSIZE equals BENCH_KEYS (and a sample of GETs on node 4 match);
#  2. one configuration change on an empty three-node cluster: CLUSTER ADDNODE of a fresh
#     --bootstrap no node until +OK, then CLUSTER DELNODE of it until +OK, BENCH_CHANGES times
#     (a new id each time); medians;
#  3. GET /api/status on the leader's admin port, BENCH_STATUS_N sequential curl requests,
#     while redis-benchmark -t set -c 50 -d 256 writes to the leader; p50/p99. Then
#     POST /api/cluster/transfer, BENCH_TRANSFERS times (no load); p50.
# Writes the section between <!-- bench:membership --> and <!-- /bench:membership --> of
# docs/BENCHMARKS.md (other sections are kept).
#
#   utils/bench_membership.sh
#
# Environment: BENCH_KEYS (1000000)  BENCH_CHANGES (5)  BENCH_STATUS_N (500)
#   BENCH_TRANSFERS (5)  BENCH_SAMPLE (200 GETs checked on node 4)  BENCH_OUT (docs/BENCHMARKS.md)
#   CONCORDKV_SERVER (<repo>/concordkv-server)  CONCORDKV_ARGS (extra options for every node)
#   BENCH_TMPDIR (${TMPDIR:-/tmp}: data directories; keep it on a real disk, not tmpfs)
# Every server is started by this script and stopped by pid when it exits.
set -u
export LC_ALL=C

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=bench_membership.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
CLUSTER_SH="$ROOT/utils/cluster.sh"
KEYS=${BENCH_KEYS:-1000000}
CHANGES=${BENCH_CHANGES:-5}
STATUS_N=${BENCH_STATUS_N:-500}
TRANSFERS=${BENCH_TRANSFERS:-5}
SAMPLE=${BENCH_SAMPLE:-200}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
OURS_EXTRA=${CONCORDKV_ARGS:-}
CATCHUP_DEADLINE_MS=300000
CHANGE_DEADLINE_MS=90000

say() { echo "bench_membership: $*" >&2; }

for v in KEYS CHANGES STATUS_N TRANSFERS SAMPLE; do
    case "${!v}" in '' | *[!0-9]* | 0) die "$v must be a positive number" ;; esac
done
for tool in redis-benchmark redis-cli curl awk sort timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
resolve_server "$OURS_BIN"
OURS_BIN=$SERVER
[ -x "$CLUSTER_SH" ] || die "$CLUSTER_SH is missing"

bench_workdir bench-membership

# start_waiting BASE DIR ID [ARGS]: a fresh node, empty dir, --bootstrap no; sets NEW_PID.
start_waiting() {
    local base=$1 dir=$2 i=$3
    shift 3
    mkdir -p "$dir/node$i"
    node_argv "$i" $((base + i)) "$dir/node$i"
    # shellcheck disable=SC2086
    "$OURS_BIN" "${NODE_ARGV[@]}" --bootstrap no \
        --cluster-secret-file "$dir/cluster.secret" \
        --logfile "$dir/node$i.log" "$@" $OURS_EXTRA </dev/null >>"$dir/node$i.log" 2>&1 &
    NEW_PID=$!
    BENCH_PIDS+=("$NEW_PID")
    wait_ping $((base + i)) "$NEW_PID" 10000 any
    case $? in
        1) die "node $i exited: $(tail -n 3 "$dir/node$i.log")" ;;
        2) die "node $i did not answer within 10 s" ;;
    esac
}

addnode_args() { # BASE ID
    echo "CLUSTER ADDNODE $2 127.0.0.1:$(($1 + $2 + 10000)) 127.0.0.1:$(($1 + $2)) 127.0.0.1:$(($1 + $2 + 2000))"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# pct P: the P-th percentile (nearest rank) of numbers on stdin.
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

say "work directory $WORK ($(df -PT "$WORK" | awk 'NR == 2 { print $2 }'))"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START_MS=$(now_ms)

# ---- 1. add a voter to a cluster holding KEYS keys ----
bench_start_cluster big 3 4
BA=$STARTED_BASE
wait_healthy "$BA" "big cluster" 1 2 3
LA=$LEADER_PORT
say "generating $KEYS SETs"
awk -v n="$KEYS" 'BEGIN { for (i = 0; i < n; i++)
    printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$32\r\nval:%028d\r\n", i, i }' >"$WORK/load.resp"
t0=$(now_us)
redis-cli -h 127.0.0.1 -p "$LA" --pipe <"$WORK/load.resp" >"$WORK/load.out" 2>&1 ||
    die "redis-cli --pipe failed: $(tail -n 3 "$WORK/load.out")"
LOAD_US=$(($(now_us) - t0))
LOAD_SUMMARY=$(tail -n 1 "$WORK/load.out")
rm -f "$WORK/load.resp"
resp "$LA" DBSIZE
[ "$RESP_REPLY" = ":$KEYS" ] || die "after the load the leader has DBSIZE $RESP_REPLY, not $KEYS ($LOAD_SUMMARY)"
wait_healthy "$BA" "after the load" 1 2 3
LA=$LEADER_PORT
say "loaded $KEYS keys in $(ms "$LOAD_US") ms ($LOAD_SUMMARY)"

start_waiting "$BA" "$WORK/big" 4 --read-consistency stale
N4=$((BA + 4))
# shellcheck disable=SC2046
set -- $(addnode_args "$BA" 4)
ADD_T0=$(now_us)
( redis-cli -h 127.0.0.1 -p "$LA" "$@" >"$WORK/add4.reply" 2>&1
  t=${EPOCHREALTIME//[!0-9]/}; echo "$((10#$t))" >"$WORK/add4.t" ) &
ADD_SUB=$!
BENCH_PIDS+=("$ADD_SUB")
FIRST_KEYS_US="" ALL_KEYS_US=""
RESP_WAIT=1
while :; do
    if resp "$N4" DBSIZE; then
        case "$RESP_REPLY" in
            :*) n=${RESP_REPLY#:}
                [ -z "$FIRST_KEYS_US" ] && [ "$n" -gt 0 ] 2>/dev/null && FIRST_KEYS_US=$(($(now_us) - ADD_T0))
                if [ "$n" = "$KEYS" ]; then ALL_KEYS_US=$(($(now_us) - ADD_T0)); break; fi ;;
        esac
    fi
    [ $(($(now_us) - ADD_T0)) -lt $((CATCHUP_DEADLINE_MS * 1000)) ] ||
        die "node 4 did not reach DBSIZE $KEYS in $((CATCHUP_DEADLINE_MS / 1000)) s (last: $RESP_REPLY)"
    pause 0.005
done
RESP_WAIT=2
# A sample of GETs on node 4 (stale reads), spread over the key space.
BAD=0
for ((s = 0; s < SAMPLE; s++)); do
    k=$(( (s * 7919 + RANDOM) % KEYS ))
    printf -v key 'key:%012d' "$k"
    printf -v val 'val:%028d' "$k"
    resp "$N4" GET "$key" && [ "$RESP_REPLY" = "$val" ] || BAD=$((BAD + 1))
done
SERVED_US=$(($(now_us) - ADD_T0))
wait "$ADD_SUB" 2>/dev/null
ADD_REPLY=$(head -n 1 "$WORK/add4.reply")
ADD_US=$(( $(cat "$WORK/add4.t" 2>/dev/null || echo "$ADD_T0") - ADD_T0 ))
SNAP_LINES=$(grep -ci snapshot "$WORK/big/node4.log")
say "add to a $KEYS-key cluster: reply '$ADD_REPLY' after $(ms "$ADD_US") ms; DBSIZE $KEYS on node 4 after $(ms "$ALL_KEYS_US") ms; $SAMPLE GETs checked after $(ms "$SERVED_US") ms ($BAD wrong)"
# The big cluster is no longer needed: stop it to leave the CPUs to the rest.
stop_pid "$NEW_PID"
stop_cluster_dir "$WORK/big"

# ---- 2. configuration changes on an empty cluster ----
bench_start_cluster small 3 $((3 + CHANGES))
BB=$STARTED_BASE
ADD_MS=() DEL_MS=() CH_ROWS="" 
# change PORT ARGS...: the command until a reply that is not -TRYAGAIN; sets CH_US (of the
# last attempt), CH_REPLY, CH_RETRIES.
change() {
    local port=$1 t
    shift
    CH_RETRIES=0
    local deadline=$(($(now_us) + CHANGE_DEADLINE_MS * 1000))
    while :; do
        t=$(now_us)
        CH_REPLY=$(timeout 90 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>&1)
        CH_US=$(($(now_us) - t))
        case "$CH_REPLY" in TRYAGAIN* | -TRYAGAIN* | *"in progress"*) ;; *) return 0 ;; esac
        CH_RETRIES=$((CH_RETRIES + 1))
        [ "$(now_us)" -lt "$deadline" ] || return 0
        pause 0.05
    done
}
for ((c = 1; c <= CHANGES; c++)); do
    id=$((3 + c))
    wait_healthy "$BB" "change $c" 1 2 3
    LB=$LEADER_PORT
    start_waiting "$BB" "$WORK/small" "$id"
    # shellcheck disable=SC2046
    change "$LB" $(addnode_args "$BB" "$id")
    [ "$CH_REPLY" = OK ] || die "ADDNODE $id: $CH_REPLY"
    a_us=$CH_US a_retry=$CH_RETRIES
    ADD_MS+=("$(ms "$a_us")")
    wait_healthy "$BB" "after adding $id" 1 2 3 "$id"
    change "$LEADER_PORT" CLUSTER DELNODE "$id"
    [ "$CH_REPLY" = OK ] || die "DELNODE $id: $CH_REPLY"
    DEL_MS+=("$(ms "$CH_US")")
    CH_ROWS+="| $c | $id | $(ms "$a_us") | $a_retry | $(ms "$CH_US") | $CH_RETRIES |"$'\n'
    say "change $c: ADDNODE $id $(ms "$a_us") ms ($a_retry retries), DELNODE $(ms "$CH_US") ms ($CH_RETRIES retries)"
    stop_pid "$NEW_PID"
done
ADD_MED=$(printf '%s\n' "${ADD_MS[@]}" | median)
DEL_MED=$(printf '%s\n' "${DEL_MS[@]}" | median)

# ---- 3. /api/status under write load, and POST transfer ----
wait_healthy "$BB" "status" 1 2 3
LB=$LEADER_PORT
ADMIN=$((LB + 2000))
redis-benchmark -h 127.0.0.1 -p "$LB" -t set -c 50 -n 100000000 -d 256 -r 100000 -q \
    >"$WORK/rb.out" 2>&1 &
RB_PID=$!
BENCH_PIDS+=("$RB_PID")
pause 2
SET0=$(redis-cli -p "$LB" INFO commandstats | awk -F'[=,:]' '/^cmdstat_set:/ { print $3 }')
ST_T0=$(now_us)
: >"$WORK/status.times"
ST_FAIL=0
for ((r = 0; r < STATUS_N; r++)); do
    code=$(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$ADMIN/api/status")
    [ "${code%% *}" = 200 ] || ST_FAIL=$((ST_FAIL + 1))
    echo "${code#* }" >>"$WORK/status.times"
done
ST_US=$(($(now_us) - ST_T0))
SET1=$(redis-cli -p "$LB" INFO commandstats | awk -F'[=,:]' '/^cmdstat_set:/ { print $3 }')
RB_ALIVE=no
proc_alive "$RB_PID" && RB_ALIVE=yes
stop_pid "$RB_PID"
SET_RATE=$(awk -v a="${SET0:-0}" -v b="${SET1:-0}" -v us="$ST_US" 'BEGIN { printf "%d", (b - a) / (us / 1e6) }')
ST_P50=$(awk '{ printf "%.3f\n", $1 * 1000 }' "$WORK/status.times" | pct 50)
ST_P99=$(awk '{ printf "%.3f\n", $1 * 1000 }' "$WORK/status.times" | pct 99)
ST_MAX=$(awk '{ printf "%.3f\n", $1 * 1000 }' "$WORK/status.times" | pct 100)
say "/api/status under load: p50 $ST_P50 ms, p99 $ST_P99 ms, max $ST_MAX ms ($ST_FAIL non-200; SET rate meanwhile $SET_RATE/s; redis-benchmark still running at the end: $RB_ALIVE)"

TR_MS=() TR_ROWS=""
for ((r = 1; r <= TRANSFERS; r++)); do
    wait_healthy "$BB" "transfer $r" 1 2 3
    from=$LEADER_ID
    to=$((from % 3 + 1))
    out=$(curl -s -w '\n%{http_code} %{time_total}' -X POST -H 'Content-Type: application/json' \
        -d "{\"id\": $to}" "http://127.0.0.1:$((BB + from + 2000))/api/cluster/transfer")
    code=$(tail -n 1 <<<"$out")
    TR_MS+=("$(awk -v t="${code#* }" 'BEGIN { printf "%.1f", t * 1000 }')")
    TR_ROWS+="| $r | $from → $to | ${code%% *} | ${TR_MS[-1]} | $(head -n 1 <<<"$out" | tr '|' '/') |"$'\n'
    say "transfer $r: $from -> $to: ${code%% *} in ${TR_MS[-1]} ms"
done
TR_MED=$(printf '%s\n' "${TR_MS[@]}" | median)
TOTAL_S=$((($(now_ms) - START_MS) / 1000))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----
goal() {
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (v !~ /^[0-9.]+$/) { print "n/a"; exit }
        ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 <= l + 0)
        print ok ? "met" : "**not met**" }'
}
secs() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1e6 }'; }
ADD_S=$(secs "$ADD_US")
ALL_S=$(secs "$ALL_KEYS_US")
SERVED_S=$(secs "$SERVED_US")
ADD_MED_S=$(awk -v m="$ADD_MED" 'BEGIN { printf "%.3f", m / 1000 }')
DEL_MED_S=$(awk -v m="$DEL_MED" 'BEGIN { printf "%.3f", m / 1000 }')
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no -- src 2>/dev/null | grep -c .)
FSTYPE=$(df -PT "$WORK" | awk 'NR == 2 { print $2 }')
SECTION="$WORK/section.md"
{
    echo "<!-- bench:membership -->"
    echo "## Membership changes and the admin API"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname), $(nproc) CPUs (${CPU:-unknown CPU}),"
    echo "$(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo) RAM, Linux $(uname -r), data directories on $FSTYPE;"
    echo "commit $REV$([ "$DIRTY" -gt 0 ] && echo " (with uncommitted changes in src/)")."
    echo "Load average before / after: $LOAD_BEFORE / $LOAD_AFTER${BENCH_NOTE:+ ($BENCH_NOTE)}."
    echo "One run of \`utils/bench_membership.sh\` (BENCH_KEYS=$KEYS BENCH_CHANGES=$CHANGES"
    echo "BENCH_STATUS_N=$STATUS_N BENCH_TRANSFERS=$TRANSFERS BENCH_SAMPLE=$SAMPLE), ${TOTAL_S} s. All on 127.0.0.1;"
    echo "clusters started with \`utils/cluster.sh start -n 3 -d DIR -p BASE\`${OURS_EXTRA:+ (CONCORDKV_ARGS=\"$OURS_EXTRA\")},"
    echo "timings from bash's \`\$EPOCHREALTIME\` (µs) or curl's \`time_total\`."
    echo
    echo "**1. Adding a voter to a cluster holding $KEYS keys.** Keys \`key:%012d\` (16 bytes),"
    echo "values \`val:%028d\` (32 bytes), loaded into the leader with"
    echo "\`redis-cli -p LEADER --pipe < load.resp\` (one SET per key) in $(secs "$LOAD_US") s ($LOAD_SUMMARY)."
    echo "Node 4: \`concordkv-server --id 4 --bind 127.0.0.1 --port BASE+4 --raft-port BASE+10004"
    echo "--admin-port BASE+2004 --dir DIR/node4 --bootstrap no --cluster-secret-file DIR/cluster.secret --read-consistency stale\` (empty dir)."
    echo "Timed from sending \`redis-cli -p LEADER CLUSTER ADDNODE 4 127.0.0.1:BASE+10004 127.0.0.1:BASE+4"
    echo "127.0.0.1:BASE+2004\` (reply: \`$ADD_REPLY\`); meanwhile \`DBSIZE\` is polled on node 4 every 5 ms;"
    echo "once it is $KEYS, $SAMPLE \`GET\`s of keys spread over the key space are checked on node 4"
    echo "($BAD wrong or missing). First non-zero DBSIZE on node 4 after $(secs "${FIRST_KEYS_US:-0}") s;"
    echo "node 4's log has $SNAP_LINES line(s) mentioning a snapshot."
    echo
    echo "**2. One configuration change on an empty three-node cluster**, $CHANGES times: start a fresh"
    echo "node (new id, empty dir, \`--bootstrap no\`), \`redis-cli -p LEADER CLUSTER ADDNODE <id> <raft>"
    echo "<resp> <admin>\` until \`+OK\`; wait until the four nodes follow one leader and applied the same"
    echo "index; \`redis-cli -p LEADER CLUSTER DELNODE <id>\` until \`+OK\`; stop the removed node. A"
    echo "\`-TRYAGAIN\` reply is retried 50 ms later and only the last attempt is timed (retries counted)."
    echo "Times include starting redis-cli. ms:"
    echo
    echo "| change | id | ADDNODE | retries | DELNODE | retries |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s' "$CH_ROWS"
    echo
    echo "**3. Admin API.** While \`redis-benchmark -h 127.0.0.1 -p LEADER -t set -c 50 -n 100000000 -d 256"
    echo "-r 100000 -q\` writes to the leader (SET rate during the measurement, from INFO commandstats:"
    echo "$SET_RATE/s; still running at the end: $RB_ALIVE), $STATUS_N sequential"
    echo "\`curl -s -o /dev/null -w '%{http_code} %{time_total}' http://127.0.0.1:ADMIN/api/status\`"
    echo "on the leader's admin port ($ST_FAIL not 200): p50 $ST_P50 ms, p99 $ST_P99 ms, max $ST_MAX ms"
    echo "(a fresh TCP connection each, included). Then, without load, $TRANSFERS leadership transfers"
    echo "\`curl -X POST -d '{\"id\": <next>}' http://127.0.0.1:<leader admin>/api/cluster/transfer\`:"
    echo
    echo "| transfer | nodes | HTTP | ms | body |"
    echo "| ---: | --- | ---: | ---: | --- |"
    printf '%s' "$TR_ROWS"
    echo
    echo "| figure | value | goal | |"
    echo "| --- | ---: | --- | --- |"
    echo "| add a voter to a $KEYS-key cluster: ADDNODE reply (s) | $ADD_S | — | |"
    echo "| add a voter to a $KEYS-key cluster: DBSIZE $KEYS on the new node (s) | $ALL_S | < 5 s | $(goal "$ALL_S" "<=" 5) |"
    echo "| add a voter to a $KEYS-key cluster: all keys served, sample checked (s) | $SERVED_S | < 5 s | $(goal "$SERVED_S" "<=" 5) |"
    echo "| ADDNODE on an empty cluster, median of $CHANGES (s) | $ADD_MED_S | < 2 s (seed) | $(goal "$ADD_MED_S" "<=" 2) |"
    echo "| DELNODE on an empty cluster, median of $CHANGES (s) | $DEL_MED_S | < 2 s (seed) | $(goal "$DEL_MED_S" "<=" 2) |"
    echo "| GET /api/status under write load, p50 (ms) | $ST_P50 | < 50 ms (seed) | $(goal "$ST_P50" "<=" 50) |"
    echo "| GET /api/status under write load, p99 (ms) | $ST_P99 | < 50 ms (seed), < 5 ms (ours) | $(goal "$ST_P99" "<=" 50) / $(goal "$ST_P99" "<=" 5) |"
    echo "| POST /api/cluster/transfer, p50 of $TRANSFERS (ms) | $TR_MED | < 100 ms | $(goal "$TR_MED" "<=" 100) |"
    echo "<!-- /bench:membership -->"
} >"$SECTION"

write_section "$OUT" membership "$SECTION"
say "wrote $OUT"
