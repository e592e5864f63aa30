# Shell helpers shared by the local-cluster and benchmark scripts (utils/cluster.sh,
# utils/bench.sh, utils/bench_cluster.sh, utils/bench_membership.sh) and redis-compat/run.sh:
# clocks and pauses without forks, processes by pid, free loopback ports, one RESP command
# over /dev/tcp, INFO fields, the argv of a ConcordKV node, waiting for a port, a leader or a
# healthy cluster, and the benchmark report sections. Bash only; source it:
#
#   . "$ROOT/utils/lib.sh"
#
# Functions that fail call die, which prints "$PROG: ..." (PROG defaults to the script's
# name) and exits 1. Nothing here stops a process it was not given the pid of.
[ -z "${CONCORDKV_LIB_SH:-}" ] || return 0
CONCORDKV_LIB_SH=1

PROG=${PROG:-${0##*/}}
LIB_DIR=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "$PROG: $*" >&2; exit 1; }

# print_header SCRIPT: the comment block at the top of SCRIPT (after the #! line), unprefixed:
# what --help prints.
print_header() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$1"; }

# no_args_but_help ARG...: --help (or -h) prints the script's header and exits 0; any other
# argument is refused (these scripts take their settings from the environment).
no_args_but_help() {
    case "${1:-}" in
        '') return 0 ;;
        -h | --help) print_header "$0"; exit 0 ;;
        *) die "unexpected argument '$1' (settings come from the environment; see --help)" ;;
    esac
}

is_uint() { case "$1" in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }

# ---- clocks ----
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t / 1000)); }
now_us() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t)); }

# pause SECONDS: a sleep without a fork (a fork costs tens of ms on a loaded small VM): a read
# from a pipe nobody writes to, opened at the first pause.
LIB_PAUSE_FD=""
pause() {
    [ -n "$LIB_PAUSE_FD" ] || exec {LIB_PAUSE_FD}<> <(:)
    read -r -t "$1" -u "$LIB_PAUSE_FD" _
}

# ---- processes ----

# proc_alive PID: PID exists and is not a zombie (kill -0 succeeds on zombies, and nodes left
# by an earlier run are reaped by init, late).
proc_alive() {
    local stat state
    is_uint "$1" || return 1
    { IFS= read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    state=${stat##*) }
    state=${state%% *}
    case "$state" in '' | Z | X | x) return 1 ;; esac
    return 0
}

# node_pid_alive PID NODEDIR: PID is a live process started with --dir NODEDIR (a pid file may
# be stale and its pid reused). A process that is exiting has lost its command line but may
# still hold its ports (the kernel releases its memory before its files): it counts as alive.
node_pid_alive() {
    local pid=$1 want=$2 k
    local -a args
    proc_alive "$pid" || return 1
    { mapfile -d '' -t args <"/proc/$pid/cmdline"; } 2>/dev/null || return 1
    [ "${#args[@]}" -gt 0 ] || return 0
    for ((k = 0; k + 1 < ${#args[@]}; k++)); do
        [ "${args[k]}" = --dir ] && [ "${args[k + 1]}" = "$want" ] && return 0
    done
    return 1
}

# node_pid DIR I: sets NODE_PID to the pid in DIR/node<I>.pid if that process is node I of DIR
# (the layout of utils/cluster.sh), else fails.
NODE_PID=""
node_pid() {
    NODE_PID=""
    { read -r NODE_PID <"$1/node$2.pid"; } 2>/dev/null || return 1
    node_pid_alive "$NODE_PID" "$1/node$2" || { NODE_PID=""; return 1; }
}

# stop_pid PID [TIMEOUT_MS]: SIGTERM, wait up to TIMEOUT_MS (default 15000), then SIGKILL;
# reaps PID if it is a child of this shell.
stop_pid() {
    local pid=$1 deadline
    proc_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    deadline=$(($(now_ms) + ${2:-15000}))
    while proc_alive "$pid"; do
        if [ "$(now_ms)" -ge "$deadline" ]; then
            kill -KILL "$pid" 2>/dev/null
            break
        fi
        pause 0.02
    done
    wait "$pid" 2>/dev/null
}

# stop_cluster_dir DIR: stop_pid every running node of the utils/cluster.sh directory DIR.
stop_cluster_dir() {
    local f i
    for f in "$1"/node*.pid; do
        [ -f "$f" ] || continue
        i=${f##*/node}
        i=${i%.pid}
        node_pid "$1" "$i" && stop_pid "$NODE_PID"
    done
    return 0
}

# ---- ports ----

port_in_use() {
    local fd
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    exec {fd}>&-
    return 0
}

# wait_port_free PORT TIMEOUT_MS: waits until nothing listens on 127.0.0.1:PORT; 1 on the
# deadline. (The sockets of a process killed a moment ago may outlive it by a few ms: the
# kernel closes them after the process is gone.)
wait_port_free() {
    local deadline=$(($(now_ms) + $2))
    while port_in_use "$1"; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        pause 0.02
    done
    return 0
}

# free_base N [LOW SPAN]: prints a base port B in LOW..LOW+SPAN-1 (default 4000 and 1900: below
# the 20000-39999 range that the test suites' random ports use) such that B+i, B+i+2000 and
# B+i+10000 are free for i = 1..N (a node's RESP, admin and raft ports; N = 0 checks B itself).
free_base() {
    local n=$1 low=${2:-4000} span=${3:-1900} b i ok
    for _ in $(seq 1 500); do
        b=$((low + RANDOM % span))
        ok=1
        for ((i = n > 0 ? 1 : 0; i <= n; i++)); do
            if port_in_use $((b + i)) || port_in_use $((b + i + 2000)) ||
                port_in_use $((b + i + 10000)); then
                ok=0
                break
            fi
        done
        [ "$ok" = 1 ] && { echo "$b"; return 0; }
    done
    die "no free ports"
}

# ---- RESP ----

# resp PORT ARG...: sends one command to 127.0.0.1:PORT on a fresh connection and sets
# RESP_REPLY to the reply's first line (+status, -error, :integer) or to a bulk string's
# contents; returns 1 when nothing answers within RESP_WAIT seconds.
RESP_WAIT=2
RESP_REPLY=""
resp() {
    local port=$1 fd line body a req
    shift
    RESP_REPLY=""
    req="*$#"$'\r\n'
    for a in "$@"; do req+="\$${#a}"$'\r\n'"$a"$'\r\n'; done
    { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
    if ! { printf '%s' "$req" >&"$fd"; } 2>/dev/null ||
        ! IFS= read -r -t "$RESP_WAIT" line <&"$fd"; then
        exec {fd}>&-
        return 1
    fi
    line=${line%$'\r'}
    case "$line" in
        '$-1') ;;
        '$'*)
            if ! is_uint "${line#?}" ||
                ! IFS= read -r -N $((${line#?} + 2)) -t "$RESP_WAIT" body <&"$fd"; then
                exec {fd}>&-
                return 1
            fi
            RESP_REPLY=${body%$'\r\n'}
            exec {fd}>&-
            return 0
            ;;
    esac
    RESP_REPLY=$line
    exec {fd}>&-
    return 0
}

# info_field PORT SECTION FIELD: prints FIELD of INFO SECTION.
info_field() {
    local line
    resp "$1" INFO "$2" || return 1
    while IFS= read -r line; do
        line=${line%$'\r'}
        [ "${line%%:*}" = "$3" ] && { echo "${line#*:}"; return 0; }
    done <<<"$RESP_REPLY"
    return 1
}

# ratio A B: A / B with two decimals; n/a when either is missing or B is 0.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a";
        else printf "%.2f", a / b }'
}

# rss_kib PID, hwm_kib PID: process PID's resident set size and its peak (VmHWM), in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# wait_at_rest PORT [TIMEOUT_MS]: wait until the concordkv node on PORT is at rest: no snapshot
# in progress (INFO raft_snapshot_in_progress:0; a snapshot holds the serialized state in
# memory) and no more log in memory than its idle limit (raft_log_bytes below
# raft_log_bytes_idle_limit: a node snapshots such a log once no write has come for a second).
# A server without the fields (redis-server, an older build) counts as at rest as far as it
# has them. 1 at the deadline (30 s).
wait_at_rest() {
    local port=$1 deadline=$(($(now_ms) + ${2:-30000})) v bytes limit
    while :; do
        v=$(info_field "$port" raft raft_snapshot_in_progress) || return 0
        bytes=$(info_field "$port" raft raft_log_bytes) || bytes=0
        limit=$(info_field "$port" raft raft_log_bytes_idle_limit) || limit=0
        [ "$v" = 0 ] && { [ "$limit" = 0 ] || [ "$bytes" -lt "$limit" ]; } && return 0
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        pause 0.05
    done
}

# raft_info PORT: sets R_STATE, R_LEADER, R_READY and R_APPLIED from INFO raft; 1 if no answer.
raft_info() {
    local line
    R_STATE="" R_LEADER=0 R_READY=0 R_APPLIED=""
    resp "$1" INFO raft || return 1
    while IFS= read -r line; do
        line=${line%$'\r'}
        case "$line" in
            raft_state:*) R_STATE=${line#*:} ;;
            raft_leader_id:*) R_LEADER=${line#*:} ;;
            raft_ready:*) R_READY=${line#*:} ;;
            raft_applied_index:*) R_APPLIED=${line#*:} ;;
        esac
    done <<<"$RESP_REPLY"
    [ -n "$R_STATE" ]
}

# ---- test scripts (redis-compat/) ----

# tally WHAT RC OUT: a client test script's "ok - " / "not ok - " lines in OUT become PASS/FAIL
# lines (prefixed with WHAT when it is not empty) added to PASSED and FAILED, its "xfail - "
# lines (a known failure, with its reason) XFAIL lines added to XFAILED; an exit status RC
# other than 0 with no "not ok" line counts as one failure (through the caller's fail).
XFAILED=0
tally() {
    local what=${1:+$1 } rc=$2 out=$3 ok bad xf
    ok=$(grep -c '^ok - ' <<<"$out")
    bad=$(grep -c '^not ok - ' <<<"$out")
    xf=$(grep -c '^xfail - ' <<<"$out")
    grep -E '^(ok|not ok|xfail) - ' <<<"$out" |
        sed -e "s/^ok - /PASS $what/" -e "s/^not ok - /FAIL $what/" -e "s/^xfail - /XFAIL $what/"
    PASSED=$((PASSED + ok))
    FAILED=$((FAILED + bad))
    XFAILED=$((XFAILED + xf))
    if [ "$rc" != 0 ] && [ "$bad" = 0 ]; then
        fail "${what}exited with $rc: $(tail -n 5 <<<"$out" | tr '\n' ' ')"
    fi
}

# ---- ConcordKV nodes ----

# resolve_server BIN: sets SERVER to the absolute path of BIN (a path or a command name).
resolve_server() {
    command -v "$1" >/dev/null 2>&1 || die "no server at $1 (build it with make, or set CONCORDKV_SERVER)"
    SERVER=$(command -v "$1")
    case "$SERVER" in /*) ;; *) SERVER="$PWD/$SERVER" ;; esac
}

# python_with_redis: sets PY to a python3 that has the redis module (Debian's python3-redis
# lives in /usr/bin/python3's path; $PYTHON is tried first), or prints a SKIP line and exits
# 77 (automake's skip) when there is none.
PY=""
python_with_redis() {
    local cand
    for cand in ${PYTHON:-} /usr/bin/python3 python3; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import redis' >/dev/null 2>&1; then
            PY=$cand
            return 0
        fi
    done
    echo "SKIP: no python3 with the redis module (apt-get install python3-redis)"
    exit 77
}

# node_argv ID PORT DIR: sets NODE_ARGV to the options every ConcordKV node started by these
# scripts gets: node ID on 127.0.0.1, RESP PORT, admin PORT+2000, raft PORT+10000, data in
# DIR. The one place where the scripts build a node's command line; callers append the rest
# (--cluster, --bootstrap, --logfile, CONCORDKV_ARGS).
NODE_ARGV=()
node_argv() {
    NODE_ARGV=(--id "$1" --bind 127.0.0.1 --port "$2" --raft-port $(($2 + 10000))
        --admin-port $(($2 + 2000)) --dir "$3")
}

# wait_ping PORT PID TIMEOUT_MS [ANY]: waits until 127.0.0.1:PORT answers PING with +PONG (with
# ANY, with any reply) while PID lives; 1 if PID exited, 2 on the deadline.
wait_ping() {
    local port=$1 pid=$2 deadline=$(($(now_ms) + $3)) any=${4:-}
    until resp "$port" PING && { [ -n "$any" ] || [ "$RESP_REPLY" = +PONG ]; }; do
        proc_alive "$pid" || return 1
        [ "$(now_ms)" -lt "$deadline" ] || return 2
        pause 0.02
    done
    return 0
}

# cluster_healthy BASE ID...: with node i on RESP port BASE+i, sets LEADER_ID and LEADER_PORT
# once a ready leader is followed by every listed node (each must answer) and all of them
# applied the same index.
cluster_healthy() {
    local base=$1 i entry leader=""
    local -a seen=()
    shift
    for i in "$@"; do
        raft_info $((base + i)) || return 1
        [ "$R_STATE" = leader ] && [ "$R_READY" = 1 ] && leader=$i
        seen+=("$R_LEADER:$R_APPLIED")
    done
    [ -n "$leader" ] || return 1
    for entry in "${seen[@]}"; do
        [ "$entry" = "$leader:${seen[0]#*:}" ] || return 1
    done
    LEADER_ID=$leader
    LEADER_PORT=$((base + leader))
}

# wait_healthy BASE WHAT ID...: cluster_healthy within 60 s, or die naming WHAT.
wait_healthy() {
    local base=$1 what=$2 deadline
    shift 2
    deadline=$(($(now_ms) + 60000))
    until cluster_healthy "$base" "$@"; do
        [ "$(now_ms)" -lt "$deadline" ] || die "$what: the cluster did not become healthy in 60 s"
        pause 0.05
    done
    return 0
}

# ---- benchmarks ----

# bench_workdir NAME: makes WORK, a new directory under $BENCH_TMPDIR (else $TMPDIR, else /tmp)
# named concordkv-NAME-XXXXXX; at exit (INT and TERM exit too) every process in BENCH_PIDS and
# every node of the clusters in CLUSTER_DIRS is stopped by pid, and WORK removed.
BENCH_PIDS=()
CLUSTER_DIRS=()
bench_workdir() {
    WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/concordkv-$1-XXXXXX") ||
        die "mktemp failed"
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

bench_cleanup() {
    local pid dir
    for pid in "${BENCH_PIDS[@]}"; do stop_pid "$pid"; done
    for dir in "${CLUSTER_DIRS[@]}"; do stop_cluster_dir "$dir"; done
    rm -rf "$WORK"
}

# bench_start_cluster NAME N [SLOTS]: an N-node cluster through utils/cluster.sh in
# $WORK/NAME, on a base port where SLOTS (default N) nodes' ports are free (room for nodes
# added later), with CONCORDKV_SERVER=$OURS_BIN and CONCORDKV_ARGS=$OURS_EXTRA. Adds the
# directory to CLUSTER_DIRS (for stop_cluster_dir at exit) and sets STARTED_BASE.
bench_start_cluster() {
    local name=$1 n=$2 slots=${3:-$2} base out
    base=$(free_base "$slots")
    CLUSTER_DIRS+=("$WORK/$name")
    out=$(CONCORDKV_SERVER=$OURS_BIN CONCORDKV_ARGS=$OURS_EXTRA \
        "$LIB_DIR/cluster.sh" start -n "$n" -d "$WORK/$name" -p "$base" 2>&1) ||
        die "$name: cluster.sh start failed: $out"
    echo "$out" >&2
    STARTED_BASE=$base
}

# bench_start_redis NAME ARGS...: $REDIS_BIN with ARGS on a free port, data and log in
# $WORK/NAME (stopped at exit through BENCH_PIDS); sets STARTED_PORT and STARTED_PID.
bench_start_redis() {
    local name=$1 port dir log pid
    shift
    port=$(($(free_base 1) + 1))
    dir="$WORK/$name"
    log="$WORK/$name.log"
    mkdir -p "$dir"
    "$REDIS_BIN" --bind 127.0.0.1 --port "$port" --dir "$dir" "$@" >"$log" 2>&1 &
    pid=$!
    BENCH_PIDS+=("$pid")
    wait_ping "$port" "$pid" 10000 || { cat "$log" >&2; die "$name did not start on port $port"; }
    STARTED_PORT=$port
    STARTED_PID=$pid
}

# write_section OUT NAME SECTION: replaces the lines between <!-- bench:NAME --> and
# <!-- /bench:NAME --> of the Markdown file OUT (created if needed) with the file SECTION,
# which holds both markers; appends it if OUT has no such section. Prints SECTION.
write_section() {
    local out=$1 name=$2 section=$3 tmp
    mkdir -p "$(dirname "$out")"
    if [ ! -f "$out" ]; then
        printf '# ConcordKV benchmarks\n\nGenerated by the scripts in utils/; each section is replaced by its script.\n\n' >"$out"
    fi
    if grep -q "^<!-- bench:$name -->" "$out" && grep -q "^<!-- /bench:$name -->" "$out"; then
        tmp=$(mktemp "$out.XXXXXX") || die "mktemp failed"
        awk -v sect="$section" -v opening="<!-- bench:$name -->" -v closing="<!-- /bench:$name -->" '
            index($0, opening) == 1 { while ((getline line < sect) > 0) print line; skip = 1; next }
            index($0, closing) == 1 { skip = 0; next }
            !skip { print }' "$out" >"$tmp"
        cat "$tmp" >"$out"
        rm -f "$tmp"
    else
        { echo; cat "$section"; } >>"$out"
    fi
    cat "$section"
}
