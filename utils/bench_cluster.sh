#!/bin/bash
# Replication benchmark, in one run on free loopback ports: redis-server without persistence,
# redis-server with appendfsync always, one concordkv node, a three-node and a five-node
# concordkv cluster (benchmarked through their leaders), then the failover time of the
# three-node cluster.
# Writes the section between <!-- bench:cluster --> and <!-- /bench:cluster --> of
# docs/BENCHMARKS.md (other sections are kept).
#
#   utils/bench_cluster.sh
#   CONCORDKV_SERVER=/path/to/concordkv-server utils/bench_cluster.sh
#
# Every server is started by this script and stopped by pid when it exits. For each server:
# redis-benchmark SET and GET, 256-byte values, 100000 random keys, with 1, 50 and 200 clients
# and 50 clients pipelining 16, and a mixed load (40 GET clients and 10 SET clients at once,
# 80/20 of the requests); throughput, p50 and p99, and the CPU seconds per 100,000 operations
# of the server (a cluster's leader and one follower). Then 100,000 GETs on the idle
# three-node cluster, to show that reads append nothing to the log. Failover: SIGKILL the leader of the
# three-node cluster and time the first successful SET through a surviving node (following
# -MOVED), BENCH_FAILOVER_TRIALS times, restarting the killed node and waiting for a healthy
# cluster between trials; the median is reported.
#
# Environment (requests per redis-benchmark test; the defaults keep a run under ~4 minutes):
#   BENCH_N_C1 (4000)  BENCH_N_C50 (60000)  BENCH_N_P16 (300000)  BENCH_FAILOVER_TRIALS (5)
#   (200 clients and the mixed load use BENCH_N_C50 requests too)
#   BENCH_OUT (docs/BENCHMARKS.md)  REDIS_SERVER (redis-server)  CONCORDKV_SERVER
#   (<repo>/concordkv-server)  CONCORDKV_ARGS (extra options for every concordkv node)
#   BENCH_TMPDIR (${TMPDIR:-/tmp}: data directories; keep it on a real disk, not tmpfs)
set -u
export LC_ALL=C

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=bench_cluster.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
no_args_but_help "$@"
CLUSTER_SH="$ROOT/utils/cluster.sh"
N_C1=${BENCH_N_C1:-4000}
N_C50=${BENCH_N_C50:-60000}
N_P16=${BENCH_N_P16:-300000}
TRIALS=${BENCH_FAILOVER_TRIALS:-5}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
REDIS_BIN=${REDIS_SERVER:-redis-server}
OURS_BIN=${CONCORDKV_SERVER:-$ROOT/concordkv-server}
OURS_EXTRA=${CONCORDKV_ARGS:-}
VALUE_SIZE=256
KEYSPACE=100000
FAILOVER_DEADLINE_MS=30000
PROBE_WAIT=0.25 # seconds a failover probe waits for its reply

say() { echo "bench_cluster: $*" >&2; }

for v in N_C1 N_C50 N_P16 TRIALS; do
    case "${!v}" in '' | *[!0-9]* | 0) die "$v must be a positive number" ;; esac
done
for tool in redis-benchmark redis-cli awk sort timeout "$REDIS_BIN"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
resolve_server "$OURS_BIN"
OURS_BIN=$SERVER
[ -x "$CLUSTER_SH" ] || die "$CLUSTER_SH is missing"

bench_workdir bench-cluster

# ---- servers ----
say "work directory $WORK ($(df -PT "$WORK" | awk 'NR == 2 { print $2 }'))"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START_MS=$(now_ms)

bench_start_redis redis-none --save "" --appendonly no
P_NONE=$STARTED_PORT
bench_start_redis redis-always --save "" --appendonly yes --appendfsync always
P_ALWAYS=$STARTED_PORT
bench_start_cluster ckv1 1
B1=$STARTED_BASE
wait_healthy "$B1" "one node" 1
P_ONE=$LEADER_PORT
bench_start_cluster ckv3 3
B3=$STARTED_BASE
wait_healthy "$B3" "three nodes" 1 2 3
P_THREE=$LEADER_PORT
bench_start_cluster ckv5 5
B5=$STARTED_BASE
wait_healthy "$B5" "five nodes" 1 2 3 4 5
P_FIVE=$LEADER_PORT

SERVERS=(none always one three five)
declare -A LABEL=([none]="redis, no persistence" [always]="redis, appendfsync always"
    [one]="concordkv, 1 node" [three]="concordkv, 3 nodes (leader)"
    [five]="concordkv, 5 nodes (leader)")
declare -A PORT=([none]=$P_NONE [always]=$P_ALWAYS [one]=$P_ONE [three]=$P_THREE [five]=$P_FIVE)

# The processes whose CPU time is counted: LEAD_PID (the server, or a cluster's leader) and
# FOLLOW_PID (a follower; none for one process).
declare -A LEAD_PID FOLLOW_PID
LEAD_PID[none]=$(redis-cli -p "$P_NONE" INFO server | awk -F: '/^process_id/ { print $2 + 0 }')
LEAD_PID[always]=$(redis-cli -p "$P_ALWAYS" INFO server | awk -F: '/^process_id/ { print $2 + 0 }')
cluster_pids() { # KEY DIR BASE N
    local key=$1 dir=$2 base=$3 n=$4 i
    for ((i = 1; i <= n; i++)); do
        node_pid "$dir" "$i" || die "no pid for node $i of $dir"
        if [ $((base + i)) = "${PORT[$key]}" ]; then
            LEAD_PID[$key]=$NODE_PID
        elif [ -z "${FOLLOW_PID[$key]:-}" ]; then
            FOLLOW_PID[$key]=$NODE_PID
        fi
    done
}
cluster_pids one "$WORK/ckv1" "$B1" 1
cluster_pids three "$WORK/ckv3" "$B3" 3
cluster_pids five "$WORK/ckv5" "$B5" 5
CLK_TCK=$(getconf CLK_TCK)
# cpu_ticks PID: user + system CPU time of PID in clock ticks (0 without a PID).
cpu_ticks() {
    [ -n "${1:-}" ] || { echo 0; return; }
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ---- throughput and latency ----
# Results: RPS[server,case,test], P50[...], P99[...]; ERRSAMPLE[server,case] the most frequent
# lines of redis-benchmark's output that are not CSV (Redis 7's redis-benchmark prints the
# first error reply and exits).
declare -A RPS P50 P99 ERRSAMPLE
CASES=(c1 c50 c200 p16 mix)
declare -A CASE_CLIENTS=([c1]=1 [c50]=50 [c200]=200 [p16]=50 [mix]=50)
declare -A CASE_PIPE=([c1]=1 [c50]=1 [c200]=1 [p16]=16 [mix]=1)
declare -A CASE_N=([c1]=$N_C1 [c50]=$N_C50 [c200]=$N_C50 [p16]=$N_P16 [mix]=$N_C50)
declare -A CPU_LEAD CPU_FOLLOW

# parse_csv FILE S C: RPS/P50/P99[S,C,TEST] from redis-benchmark's CSV in FILE.
parse_csv() {
    local line test r p50 p99
    while IFS= read -r line; do
        IFS=, read -r test r _ _ p50 _ p99 _ <<<"${line//\"/}"
        case "$test" in
            SET | GET)
                RPS[$2,$3,$test]=$r
                P50[$2,$3,$test]=$p50
                P99[$2,$3,$test]=$p99
                ;;
        esac
    done < <(grep '^"[A-Z]' "$1")
}

# per100k TICKS OPS: CPU seconds per 100,000 operations.
per100k() {
    awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", t / hz / n * 100000 }'
}

# The mixed load on server S: 40 GET clients and 10 SET clients at once, 80 % / 20 % of N.
bench_mix() {
    local s=$1 n=${CASE_N[mix]} common rc1 rc2 pg ps
    common=(-h 127.0.0.1 -p "${PORT[$s]}" -d "$VALUE_SIZE" -r "$KEYSPACE" --csv)
    timeout 600 redis-benchmark "${common[@]}" -t get -c 40 -n $((n * 8 / 10)) >"$WORK/mix-$s-get.txt" 2>&1 &
    pg=$!
    timeout 600 redis-benchmark "${common[@]}" -t set -c 10 -n $((n * 2 / 10)) >"$WORK/mix-$s-set.txt" 2>&1 &
    ps=$!
    wait "$pg"
    rc1=$?
    wait "$ps"
    rc2=$?
    [ "$rc1" = 0 ] || echo "redis-benchmark (GET) exited with status $rc1" >>"$WORK/mix-$s-get.txt"
    [ "$rc2" = 0 ] || echo "redis-benchmark (SET) exited with status $rc2" >>"$WORK/mix-$s-set.txt"
    cat "$WORK/mix-$s-get.txt" "$WORK/mix-$s-set.txt" >"$WORK/bench-$s-mix.txt"
    parse_csv "$WORK/mix-$s-get.txt" "$s" mix
    parse_csv "$WORK/mix-$s-set.txt" "$s" mix
}

bench() {
    local s=$1 c=$2 out args rc t0l t0f ops
    t0l=$(cpu_ticks "${LEAD_PID[$s]:-}")
    t0f=$(cpu_ticks "${FOLLOW_PID[$s]:-}")
    out="$WORK/bench-$s-$c.txt"
    if [ "$c" = mix ]; then
        bench_mix "$s"
        ops=${CASE_N[mix]}
    else
        # shellcheck disable=SC2054
        args=(-h 127.0.0.1 -p "${PORT[$s]}" -t set,get -d "$VALUE_SIZE" -r "$KEYSPACE"
            -n "${CASE_N[$c]}" -c "${CASE_CLIENTS[$c]}" --csv)
        [ "${CASE_PIPE[$c]}" -gt 1 ] && args+=(-P "${CASE_PIPE[$c]}")
        timeout 600 redis-benchmark "${args[@]}" >"$out" 2>&1
        rc=$?
        [ "$rc" = 0 ] || echo "redis-benchmark exited with status $rc" >>"$out"
        parse_csv "$out" "$s" "$c"
        ops=$((2 * ${CASE_N[$c]}))
    fi
    CPU_LEAD[$s,$c]=$(per100k $(($(cpu_ticks "${LEAD_PID[$s]:-}") - t0l)) "$ops")
    [ -n "${FOLLOW_PID[$s]:-}" ] &&
        CPU_FOLLOW[$s,$c]=$(per100k $(($(cpu_ticks "${FOLLOW_PID[$s]}") - t0f)) "$ops")
    # Anything but the CSV (errors shown by -e, warnings) is worth a look.
    ERRSAMPLE[$s,$c]=$(grep -v '^"' "$out" | sort | uniq -c | sort -rn | head -n 3 |
        awk '{ $1 = $1 "x"; print }' | tr '\n' ';')
    say "${LABEL[$s]}, ${CASE_CLIENTS[$c]} client(s), pipeline ${CASE_PIPE[$c]}:" \
        "SET ${RPS[$s,$c,SET]:-n/a} GET ${RPS[$s,$c,GET]:-n/a} ops/s" \
        "${ERRSAMPLE[$s,$c]:+ other output: ${ERRSAMPLE[$s,$c]}}"
}

RAFT_BEFORE=$(resp "$P_THREE" INFO raft && echo "$RESP_REPLY")
for c in "${CASES[@]}"; do
    for s in "${SERVERS[@]}"; do bench "$s" "$c"; done
done

# State of the three-node cluster after the load: same leader? replicas converged?
raft_field() {
    local v
    v=$(awk -F: -v f="$2" '{ sub(/\r$/, "") } $1 == f { print $2 }' <<<"$1")
    echo "${v:-0}"
}
RAFT_AFTER=$(resp "$P_THREE" INFO raft && echo "$RESP_REPLY")
THREE_NOTES=()
lc=$(( $(raft_field "$RAFT_AFTER" raft_leader_changes) - $(raft_field "$RAFT_BEFORE" raft_leader_changes) ))
to=$(( $(raft_field "$RAFT_AFTER" raft_timeouts) - $(raft_field "$RAFT_BEFORE" raft_timeouts) ))
uo=$(( $(raft_field "$RAFT_AFTER" raft_unknown_outcomes) - $(raft_field "$RAFT_BEFORE" raft_unknown_outcomes) ))
THREE_NOTES+=("leader changes during the load: $lc; -TIMEOUT replies: $to; unknown outcomes: $uo")
THREE_NOTES+=("largest batch: $(raft_field "$RAFT_AFTER" raft_max_batch_size) commands per entry; $(raft_field "$RAFT_AFTER" raft_entries_proposed) entries and $(raft_field "$RAFT_AFTER" raft_barriers) barriers proposed in all")
wait_healthy "$B3" "after the load" 1 2 3
DIGESTS=""
for i in 1 2 3; do
    resp $((B3 + i)) DEBUG DIGEST && DIGESTS+="${RESP_REPLY#+} "
done
if [ "$(tr ' ' '\n' <<<"$DIGESTS" | grep -c .)" = 3 ] &&
    [ "$(tr ' ' '\n' <<<"$DIGESTS" | grep . | sort -u | wc -l)" = 1 ]; then
    CONVERGED="yes (DEBUG DIGEST equal on the three nodes)"
else
    CONVERGED="NO: DEBUG DIGEST $DIGESTS"
fi
say "three nodes after the load: ${THREE_NOTES[0]}; ${THREE_NOTES[1]}; converged: $CONVERGED"

# Reads on an idle cluster append nothing: the leader's last log index around 100,000 GETs.
IDX_BEFORE=$(resp "$P_THREE" INFO raft && raft_field "$RESP_REPLY" raft_last_index)
timeout 600 redis-benchmark -h 127.0.0.1 -p "$P_THREE" -t get -r "$KEYSPACE" -n 100000 -c 50 \
    --csv >"$WORK/idle-gets.txt" 2>&1
IDX_AFTER=$(resp "$P_THREE" INFO raft && raft_field "$RESP_REPLY" raft_last_index)
IDLE_GETS=$(awk -F, '/^"GET"/ { gsub(/"/, "", $2); print $2 }' "$WORK/idle-gets.txt")
say "100000 GETs on the idle three-node cluster (${IDLE_GETS:-n/a}/s): raft_last_index $IDX_BEFORE -> $IDX_AFTER"

# ---- failover ----
# Log time of the first line matching PATTERN in LOG at or after T0 (ms), minus T0; or "-".
log_after() {
    local log=$1 pattern=$2 t0=$3 ts
    while IFS= read -r ts; do
        ts=$(date -d "$ts" +%s%3N 2>/dev/null) || continue
        if [ "$ts" -ge "$t0" ]; then
            echo $((ts - t0))
            return
        fi
    done < <(grep -- "$pattern" "$log" | awk '{ print $2, $3, $4, $5 }')
    echo "-"
}

FO_MS=()
FO_ROWS=""
for ((trial = 1; trial <= TRIALS; trial++)); do
    wait_healthy "$B3" "failover trial $trial" 1 2 3
    victim=$LEADER_ID
    node_pid "$WORK/ckv3" "$victim" || die "no pid for node $victim"
    vpid=$NODE_PID
    survivors=()
    for ((i = 1; i <= 3; i++)); do [ "$i" = "$victim" ] || survivors+=($((B3 + i))); done
    key="failover:$trial"
    attempts=0
    errors=""
    RESP_WAIT=$PROBE_WAIT
    t0_us=$(now_us)
    kill -KILL "$vpid"
    done_us=""
    winner=""
    while [ -z "$done_us" ]; do
        for p in "${survivors[@]}"; do
            target=$p
            for _hop in 1 2; do
                attempts=$((attempts + 1))
                if resp "$target" SET "$key" "$trial"; then
                    case "$RESP_REPLY" in
                        +OK) done_us=$(now_us); winner=$((target - B3)); break 2 ;;
                        -MOVED*)
                            target=${RESP_REPLY##*:}
                            # Follow only to a surviving node: the victim is dead.
                            if [[ " ${survivors[*]} " != *" $target "* ]]; then
                                errors+="-MOVED(killed-leader)"$'\n'
                                break
                            fi
                            ;;
                        *) errors+="${RESP_REPLY%% *}"$'\n'; break ;;
                    esac
                else
                    errors+="no-reply"$'\n'
                    break
                fi
            done
        done
        [ -n "$done_us" ] && break
        if [ $(($(now_us) - t0_us)) -gt $((FAILOVER_DEADLINE_MS * 1000)) ]; then
            die "failover trial $trial: no write succeeded within $((FAILOVER_DEADLINE_MS / 1000)) s"
        fi
        pause 0.005
    done
    RESP_WAIT=2
    ms=$(((done_us - t0_us) / 1000))
    FO_MS+=("$ms")
    wlog="$WORK/ckv3/node$winner.log"
    t0_ms=$((t0_us / 1000))
    lost=$(log_after "$wlog" "leader is now 0" "$t0_ms")
    elected=$(log_after "$wlog" "became leader of term" "$t0_ms")
    ready=$(log_after "$wlog" ": ready" "$t0_ms")
    errsum=$(grep . <<<"$errors" | sort | uniq -c | sort -rn | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')
    FO_ROWS+="| $trial | $victim | $winner | $lost | $elected | $ready | $ms | $attempts | ${errsum:-none} |"$'\n'
    say "failover $trial: killed node $victim, node $winner took writes after $ms ms" \
        "(lost leader +$lost, elected +$elected, ready +$ready ms; $attempts probes: $errsum)"
    out=$("$CLUSTER_SH" restart "$victim" -d "$WORK/ckv3" 2>&1) ||
        die "failover trial $trial: restart of node $victim failed: $out"
done
FO_MEDIAN=$(printf '%s\n' "${FO_MS[@]}" | sort -n | awk '{ v[NR] = $1 }
    END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%d\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
wait_healthy "$B3" "after the failover trials" 1 2 3
TOTAL_S=$((($(now_ms) - START_MS) / 1000))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----
# goal VALUE OP LIMIT: met / not met (n/a when VALUE is not a number).
goal() {
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (v !~ /^[0-9.]+$/) { print "n/a"; exit }
        ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 <= l + 0)
        print ok ? "met" : "**not met**" }'
}

R1=$(ratio "${RPS[three,c50,SET]:-}" "${RPS[always,c50,SET]:-}")
R2=$(ratio "${RPS[three,p16,SET]:-}" "${RPS[always,p16,SET]:-}")
R3=$(ratio "${RPS[three,c50,GET]:-}" "${RPS[none,c50,GET]:-}")
R4=$(ratio "${RPS[one,c50,SET]:-}" "${RPS[always,c50,SET]:-}")
R5=$(ratio "${RPS[one,c200,SET]:-}" "${RPS[always,c200,SET]:-}")
R6=$(ratio "${RPS[one,c1,SET]:-}" "${RPS[always,c1,SET]:-}")
mixsum() { awk -v a="${RPS[$1,mix,GET]:-}" -v b="${RPS[$1,mix,SET]:-}" 'BEGIN { if (a != "" && b != "") printf "%.2f", a + b }'; }
declare -A MIX
for s in "${SERVERS[@]}"; do MIX[$s]=$(mixsum "$s"); done
R7=$(ratio "${MIX[three]:-}" "${MIX[always]:-}")
IDLE_DELTA=$((IDX_AFTER - IDX_BEFORE))
L1=${P50[three,c1,SET]:-n/a}
FO_S=$(awk -v m="$FO_MEDIAN" 'BEGIN { printf "%.2f", m / 1000 }')

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no -- src 2>/dev/null | grep -c .)
FSTYPE=$(df -PT "$WORK" | awk 'NR == 2 { print $2 }')
REDIS_VER=$("$REDIS_BIN" --version | awk '{ print $3 }')
SECTION="$WORK/section.md"
{
    echo "<!-- bench:cluster -->"
    echo "## Replication: concordkv (1, 3 and 5 nodes) vs redis-server"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs (${CPU:-unknown CPU}),"
    echo "Linux $(uname -r), data directories on $FSTYPE; commit $REV$([ "$DIRTY" -gt 0 ] &&
        echo " (with uncommitted changes in src/)"); Redis $REDIS_VER."
    echo "Load average before / after: $LOAD_BEFORE / $LOAD_AFTER. One run of"
    echo "\`utils/bench_cluster.sh\` (BENCH_N_C1=$N_C1 BENCH_N_C50=$N_C50 BENCH_N_P16=$N_P16" \
        "BENCH_FAILOVER_TRIALS=$TRIALS), ${TOTAL_S} s; the five servers ran side by side and each"
    echo "test ran on all five in turn. All on 127.0.0.1."
    echo
    echo "Servers:"
    echo "- redis, no persistence: \`redis-server --bind 127.0.0.1 --port PORT --dir DIR --save \"\" --appendonly no\`"
    echo "- redis, appendfsync always: \`redis-server --bind 127.0.0.1 --port PORT --dir DIR --save \"\" --appendonly yes --appendfsync always\`"
    echo "- concordkv: \`utils/cluster.sh start -n 1|3 -d DIR -p BASE\`, i.e. for node i"
    echo "  \`concordkv-server --id i --bind 127.0.0.1 --port BASE+i --raft-port BASE+i+10000"
    echo "  --admin-port BASE+i+2000 --dir DIR/node<i> --cluster 1@127.0.0.1:BASE+10001,..." \
        "--logfile DIR/node<i>.log --cluster-secret-file DIR/cluster.secret${OURS_EXTRA:+ $OURS_EXTRA}\`" \
        "(defaults: election timeout 1000 ms, heartbeat 100 ms, linearizable reads);"
    echo "  the three- and five-node clusters are benchmarked through their leaders."
    echo
    echo "Each test: \`redis-benchmark -h 127.0.0.1 -p PORT -t set,get -d $VALUE_SIZE -r $KEYSPACE" \
        "-n N -c CLIENTS [-P 16] --csv\`"
    echo "with N = $N_C1 (1 client), $N_C50 (50 and 200 clients), $N_P16 (50 clients, pipeline 16)." \
        "Mixed: two redis-benchmark processes at once, \`-t get -c 40 -n $((N_C50 * 8 / 10))\` and"
    echo "\`-t set -c 10 -n $((N_C50 * 2 / 10))\` (clients \"40+10\"; ops/s of each, their sum in the text)."
    echo "Latencies in ms. *CPU*: seconds of user+system time per 100,000 operations of that"
    echo "run (SET and GET together), of the server or a cluster's leader, and of one follower."
    echo
    echo "| server | test | clients | pipeline | ops/s | p50 | p99 | CPU leader | CPU follower | other output |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    for c in "${CASES[@]}"; do
        for t in SET GET; do
            for s in "${SERVERS[@]}"; do
                other="${ERRSAMPLE[$s,$c]:-}"
                other=${other//|/\\|}
                cl=${CASE_CLIENTS[$c]}
                [ "$c" = mix ] && { [ "$t" = GET ] && cl=40+10 || cl=10+40; }
                echo "| ${LABEL[$s]} | $t | $cl | ${CASE_PIPE[$c]} |" \
                    "${RPS[$s,$c,$t]:-n/a} | ${P50[$s,$c,$t]:-n/a} | ${P99[$s,$c,$t]:-n/a} |" \
                    "${CPU_LEAD[$s,$c]:-n/a} | ${CPU_FOLLOW[$s,$c]:--} | ${other:-none} |"
            done
        done
    done
    echo
    echo -n "Mixed load, GET + SET ops/s:"
    for s in "${SERVERS[@]}"; do echo -n " ${LABEL[$s]} ${MIX[$s]:-n/a};"; done
    echo
    echo
    echo "Reads on the idle three-node cluster: 100,000 GETs at 50 clients (${IDLE_GETS:-n/a}/s) moved"
    echo "the leader's raft_last_index from $IDX_BEFORE to $IDX_AFTER ($IDLE_DELTA entries)."
    echo
    echo "Three-node cluster during the load: ${THREE_NOTES[0]}; ${THREE_NOTES[1]}."
    echo "Replicas converged after the load: $CONVERGED."
    echo
    echo "Failover: SIGKILL the leader of the three-node cluster; then, in a loop (5 ms apart),"
    echo "\`SET failover:<trial> <trial>\` on a fresh connection to each surviving node, following"
    echo "\`-MOVED\` to a surviving node, each attempt waiting at most ${PROBE_WAIT} s for its reply,"
    echo "until one answers \`+OK\`. Between trials the killed node is restarted"
    echo "(\`utils/cluster.sh restart\`) and the cluster is healthy again (all three nodes follow"
    echo "one ready leader and have applied the same index). Times in ms after the SIGKILL. From"
    echo "the new leader's log: *lost leader* (its election timer fired: \"leader is now 0\"),"
    echo "*elected* (\"became leader\") and *ready* (its barrier applied); *first write*: the probe's"
    echo "\`+OK\`. *failed probes*: the other replies by kind (\`-MOVED(killed-leader)\`: a"
    echo "follower still redirecting to the dead leader; \`no-reply\`: nothing within ${PROBE_WAIT} s)."
    echo
    echo "| trial | killed | new leader | lost leader | elected | ready | first write | probes | failed probes |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    printf '%s' "$FO_ROWS"
    echo
    echo "| figure | value | goal | |"
    echo "| --- | ---: | --- | --- |"
    echo "| 3-node SET, 50 clients / redis appendfsync always SET, 50 clients | $R1 | >= 0.8 | $(goal "$R1" ">=" 0.8) |"
    echo "| 1-node SET / redis appendfsync always SET, 1 client | $R6 | >= 1.0 | $(goal "$R6" ">=" 1.0) |"
    echo "| 1-node SET / redis appendfsync always SET, 50 clients | $R4 | >= 1.0 | $(goal "$R4" ">=" 1.0) |"
    echo "| 1-node SET / redis appendfsync always SET, 200 clients | $R5 | >= 1.0 | $(goal "$R5" ">=" 1.0) |"
    echo "| 3-node SET, 50 clients, -P 16 / redis appendfsync always, -P 16 | $R2 | >= 0.5 | $(goal "$R2" ">=" 0.5) |"
    echo "| 3-node GET, 50 clients / redis no persistence GET, 50 clients | $R3 | >= 0.8 | $(goal "$R3" ">=" 0.8) |"
    echo "| 3-node mixed 80/20 / redis appendfsync always, mixed | $R7 | | |"
    echo "| log entries appended by 100,000 GETs on the idle 3-node cluster | $IDLE_DELTA | 0 | $(goal "$IDLE_DELTA" "<=" 0) |"
    echo "| 3-node SET, 1 client, p50 (ms) | $L1 | <= 0.5 ms | $(goal "$L1" "<=" 0.5) |"
    echo "| failover, median of $TRIALS (s) | $FO_S | <= 2.5 s | $(goal "$FO_S" "<=" 2.5) |"
    echo "<!-- /bench:cluster -->"
} >"$SECTION"

write_section "$OUT" cluster "$SECTION"
say "wrote $OUT"
