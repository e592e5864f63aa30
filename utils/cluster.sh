#!/bin/bash
# A local N-node ConcordKV cluster on 127.0.0.1, for demos, experiments and benchmarks.
#
#   utils/cluster.sh start [-n N] [-d DIR] [-p BASEPORT]   start (or resume) the cluster
#   utils/cluster.sh status [-w] [-d DIR] table of nodes: ports, pid, role (exit 1: no leader;
#                                         -w: wait for one first)
#   utils/cluster.sh stop    [-d DIR]     SIGTERM every node, SIGKILL after a deadline
#   utils/cluster.sh kill <id> [-d DIR]   SIGKILL one node
#   utils/cluster.sh restart <id> [-d DIR]  start one node again with its data
#   utils/cluster.sh clean   [-d DIR]     stop and remove DIR
#
# Node i listens on 127.0.0.1: RESP BASEPORT+i, raft BASEPORT+i+10000, admin BASEPORT+i+2000
# (defaults: N=3, BASEPORT=7000, so node 1 is 7001/17001/9001). Its data is DIR/node<i>, its
# log DIR/node<i>.log, its pid DIR/node<i>.pid; DIR/cluster.conf remembers N, BASEPORT and the
# extra options, so every other command needs only -d (default ./concordkv-cluster).
# Environment: CONCORDKV_SERVER (default <repo>/concordkv-server); CONCORDKV_ARGS extra options
# for every node, e.g. "--election-timeout 500" (saved at the first start);
# CONCORDKV_CLUSTER_SECRET the cluster secret written to DIR/cluster.secret at the first
# start (default: 32 random hex digits); every node gets --cluster-secret-file DIR/cluster.secret;
# CLUSTER_TIMEOUT seconds to wait for a leader or a node (default 30);
# CLUSTER_STOP_TIMEOUT seconds before stop turns into SIGKILL (default 15).
set -u
export LC_ALL=C # byte-exact RESP lengths

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=cluster.sh
# shellcheck source=utils/lib.sh
. "$ROOT/utils/lib.sh"
TIMEOUT_S=${CLUSTER_TIMEOUT:-30}
STOP_TIMEOUT_S=${CLUSTER_STOP_TIMEOUT:-15}

usage() {
    cat <<EOF
Usage: utils/cluster.sh COMMAND [options]

Commands:
  start [-n N] [-d DIR] [-p BASEPORT]  start N nodes (default 3) and wait until a leader is
                                       elected; with an existing DIR, resume that cluster
  status [-w] [-d DIR]                 print id, ports, pid and role of every node; exit 1
                                       when no leader is known (-w: wait for one first)
  stop [-d DIR]                        SIGTERM every node and wait (SIGKILL after a deadline)
  kill <id> [-d DIR]                   SIGKILL one node
  restart <id> [-d DIR]                start one node again with the same data directory
  clean [-d DIR]                       stop the cluster and remove DIR
  -h, --help                           this help

Options:
  -n N         number of nodes (start only; default 3)
  -d DIR       cluster directory (default ./concordkv-cluster)
  -p BASEPORT  node i uses RESP port BASEPORT+i, raft port BASEPORT+i+10000 and admin port
               BASEPORT+i+2000 (start only; default 7000)
  -w           status only: wait (CLUSTER_TIMEOUT) until a leader is known

Environment: CONCORDKV_SERVER (server binary, default <repo>/concordkv-server),
CONCORDKV_ARGS (extra options for every node, remembered in DIR/cluster.conf),
CONCORDKV_CLUSTER_SECRET (the raft peers' secret, kept in DIR/cluster.secret; default random),
CLUSTER_TIMEOUT (seconds to wait for a leader, default 30),
CLUSTER_STOP_TIMEOUT (seconds before stop sends SIGKILL, default 15).
EOF
}

# ---- arguments ----
CMD=""
NODE_ID=""
OPT_N=""
OPT_DIR=""
OPT_PORT=""
OPT_WAIT=0
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help | help) usage; exit 0 ;;
        -n) [ $# -ge 2 ] || die "-n needs a value"; OPT_N=$2; shift 2 ;;
        -d) [ $# -ge 2 ] || die "-d needs a value"; OPT_DIR=$2; shift 2 ;;
        -p) [ $# -ge 2 ] || die "-p needs a value"; OPT_PORT=$2; shift 2 ;;
        -w) OPT_WAIT=1; shift ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *)
            if [ -z "$CMD" ]; then
                CMD=$1
            elif [ -z "$NODE_ID" ]; then
                NODE_ID=$1
            else
                die "unexpected argument '$1' (see --help)"
            fi
            shift
            ;;
    esac
done
[ -n "$CMD" ] || { usage >&2; exit 1; }
case "$CMD" in
    start | status | stop | kill | restart | clean) ;;
    *) die "unknown command '$CMD' (see --help)" ;;
esac
case "$CMD" in
    kill | restart) [ -n "$NODE_ID" ] || die "$CMD needs a node id" ;;
    *) [ -z "$NODE_ID" ] || die "unexpected argument '$NODE_ID' (see --help)" ;;
esac
[ "$OPT_WAIT" = 0 ] || [ "$CMD" = status ] || die "-w is only for status"
if [ "$CMD" != start ]; then
    [ -z "$OPT_N" ] || die "-n is only for start"
    [ -z "$OPT_PORT" ] || die "-p is only for start"
fi
[ -z "$OPT_N" ] || { is_uint "$OPT_N" && [ "$OPT_N" -ge 1 ] && [ "$OPT_N" -le 99 ]; } ||
    die "-n must be a number of nodes between 1 and 99"
[ -z "$OPT_PORT" ] || { is_uint "$OPT_PORT" && [ "$OPT_PORT" -ge 1 ]; } ||
    die "-p must be a port number"
is_uint "$TIMEOUT_S" || die "CLUSTER_TIMEOUT must be a number of seconds"
is_uint "$STOP_TIMEOUT_S" || die "CLUSTER_STOP_TIMEOUT must be a number of seconds"

DIR=${OPT_DIR:-./concordkv-cluster}
case "$DIR" in /*) ;; *) DIR="$PWD/${DIR#./}" ;; esac
DIR=${DIR%/}
CONF="$DIR/cluster.conf"


# ---- cluster.conf ----
N=""
BASE=""
EXTRA=""
load_conf() {
    local key value
    [ -f "$CONF" ] || return 1
    while IFS='=' read -r key value; do
        case "$key" in
            nodes) N=$value ;;
            baseport) BASE=$value ;;
            args) EXTRA=$value ;;
        esac
    done <"$CONF"
    if ! is_uint "$N" || ! is_uint "$BASE"; then
        die "$CONF is damaged (nodes/baseport missing)"
    fi
}
need_conf() {
    load_conf || die "no cluster in $DIR (no cluster.conf; start one with: utils/cluster.sh start -d $DIR)"
}

resp_port() { echo $((BASE + $1)); }
raft_port() { echo $((BASE + $1 + 10000)); }
admin_port() { echo $((BASE + $1 + 2000)); }
node_dir() { echo "$DIR/node$1"; }
secret_file() { echo "$DIR/cluster.secret"; }

# The cluster secret every node authenticates its raft peers with: made once, kept in DIR.
ensure_secret() {
    local f
    f=$(secret_file)
    [ -s "$f" ] && return 0
    mkdir -p "$DIR" || die "cannot create $DIR"
    (umask 077 && printf '%s\n' "${CONCORDKV_CLUSTER_SECRET:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}" >"$f") ||
        die "cannot write $f"
}
node_log() { echo "$DIR/node$1.log"; }
node_pidfile() { echo "$DIR/node$1.pid"; }

check_id() {
    if ! is_uint "$1" || [ "$1" -lt 1 ] || [ "$1" -gt "$N" ]; then
        die "no node '$1' in this cluster (ids are 1..$N)"
    fi
}

# ---- processes ----
# Bash builtins only in what status polls (lib.sh): a fork costs tens of ms on a loaded small VM.

# pid_alive PID I: PID is node I of this cluster (the check of term_wait and wait_gone).
pid_alive() { node_pid_alive "$1" "$DIR/node$2"; }

cluster_arg() {
    local i s=""
    for ((i = 1; i <= N; i++)); do s+="${s:+,}$i@127.0.0.1:$(raft_port "$i")"; done
    echo "$s"
}

last_log_line() { grep -v '^[[:space:]]*$' "$(node_log "$1")" 2>/dev/null | tail -n 1; }

# Processes started by this invocation ("id:pid"), our children: checked with proc_alive
# (before exec their command line is still ours); stopped again if this invocation fails.
STARTED=()
launch_node() {
    local i=$1 p
    for p in "$(resp_port "$i")" "$(raft_port "$i")" "$(admin_port "$i")"; do
        wait_port_free "$p" 2000 || die "port $p (node $i) is already in use"
    done
    mkdir -p "$(node_dir "$i")" || die "cannot create $(node_dir "$i")"
    ensure_secret
    # nohup: the nodes outlive this script and the terminal it ran in.
    # shellcheck disable=SC2086
    node_argv "$i" "$(resp_port "$i")" "$(node_dir "$i")"
    nohup "$SERVER" "${NODE_ARGV[@]}" --cluster "$(cluster_arg)" --logfile "$(node_log "$i")" \
        --cluster-secret-file "$(secret_file)" \
        $EXTRA </dev/null >>"$(node_log "$i")" 2>&1 &
    STARTED+=("$i:$!")
    echo "$!" >"$(node_pidfile "$i")"
}

# term_wait PID I DEADLINE_MS [CHECK]: SIGTERM, wait until DEADLINE_MS, then SIGKILL. CHECK
# (default pid_alive) tells whether the process is still there.
term_wait() {
    local pid=$1 i=$2 deadline=$3 check=${4:-pid_alive}
    kill -TERM "$pid" 2>/dev/null
    while "$check" "$pid" "$i"; do
        if [ "$(now_ms)" -ge "$deadline" ]; then
            echo "$PROG: node $i (pid $pid) did not exit after SIGTERM; sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null
            wait_gone "$pid" "$i" "$check"
            return
        fi
        sleep 0.02
    done
}

wait_gone() {
    local deadline=$(($(now_ms) + 5000)) check=${3:-pid_alive}
    while "$check" "$1" "$2"; do
        [ "$(now_ms)" -lt "$deadline" ] || die "node $2 (pid $1) is still alive after SIGKILL"
        sleep 0.01
    done
}

on_exit() {
    local entry i pid deadline
    [ "${#STARTED[@]}" -gt 0 ] || return
    deadline=$(($(now_ms) + 5000))
    for entry in "${STARTED[@]}"; do
        kill -TERM "${entry#*:}" 2>/dev/null
    done
    for entry in "${STARTED[@]}"; do
        i=${entry%%:*} pid=${entry#*:}
        term_wait "$pid" "$i" "$deadline" proc_alive
        wait "$pid" 2>/dev/null
        rm -f "$(node_pidfile "$i")"
    done
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- queries ----
# Fills ROLE[i], PID[i], LEADER_OF[i]; sets LEADER (a ready leader that every running node
# follows, else empty) and UP (number of running nodes).
ROLE=()
PID=()
LEADER_OF=()
LEADER=""
UP=0
survey() {
    local i pid leader_ready="" agree=1
    LEADER=""
    UP=0
    for ((i = 1; i <= N; i++)); do
        PID[i]=""
        LEADER_OF[i]=0
        if ! node_pid "$DIR" "$i"; then
            ROLE[i]=down
            continue
        fi
        PID[i]=$NODE_PID
        UP=$((UP + 1))
        if ! raft_info $((BASE + i)); then
            ROLE[i]="no answer"
            agree=0
            continue
        fi
        ROLE[i]=$R_STATE
        LEADER_OF[i]=$R_LEADER
        if [ "$R_STATE" = leader ]; then
            if [ "$R_READY" = 1 ]; then
                leader_ready=$i
            else
                ROLE[i]="leader (not ready)"
            fi
        fi
    done
    [ -n "$leader_ready" ] || return 0
    for ((i = 1; i <= N; i++)); do
        [ -n "${PID[i]}" ] && [ "${LEADER_OF[i]}" != "$leader_ready" ] && agree=0
    done
    [ "$agree" = 1 ] && LEADER=$leader_ready
    return 0
}

print_table() {
    local i
    printf '%-4s %-6s %-6s %-6s %-8s %s\n' id resp raft admin pid role
    for ((i = 1; i <= N; i++)); do
        printf '%-4s %-6s %-6s %-6s %-8s %s\n' "$i" $((BASE + i)) $((BASE + i + 10000)) \
            $((BASE + i + 2000)) "${PID[i]:--}" "${ROLE[i]}"
    done
}

# wait_leader WHAT: waits until a ready leader is followed by every running node; dies with
# the last log line of a node that exited, or on the deadline.
wait_leader() {
    local what=$1 deadline i entry
    deadline=$(($(now_ms) + TIMEOUT_S * 1000))
    while :; do
        for entry in "${STARTED[@]}"; do
            i=${entry%%:*}
            if ! proc_alive "${entry#*:}"; then
                die "node $i exited: $(last_log_line "$i") (log: $(node_log "$i"))"
            fi
        done
        survey
        [ -n "$LEADER" ] && return 0
        if [ "$(now_ms)" -ge "$deadline" ]; then
            print_table >&2
            die "$what: no leader after ${TIMEOUT_S}s (logs: $DIR/node*.log)"
        fi
        sleep 0.05
    done
}

print_leader_line() {
    if [ -n "$LEADER" ]; then
        echo "leader: node $LEADER (redis-cli -c -p $(resp_port "$LEADER"))"
    else
        echo "leader: none known"
    fi
}

# ---- commands ----
cmd_start() {
    local i running=""
    if load_conf; then
        [ -z "$OPT_N" ] || [ "$OPT_N" = "$N" ] ||
            die "$DIR holds a $N-node cluster; use another -d, or clean it first"
        [ -z "$OPT_PORT" ] || [ "$OPT_PORT" = "$BASE" ] ||
            die "$DIR holds a cluster on base port $BASE (raft addresses are fixed); use another -d, or clean it first"
        [ -z "${CONCORDKV_ARGS+x}" ] || EXTRA=$CONCORDKV_ARGS
    else
        [ ! -e "$DIR" ] || [ -z "$(ls -A "$DIR" 2>/dev/null)" ] ||
            die "$DIR exists and is not a cluster.sh directory (no cluster.conf)"
        N=${OPT_N:-3}
        BASE=${OPT_PORT:-7000}
        EXTRA=${CONCORDKV_ARGS:-}
    fi
    [ $((BASE + N + 10000)) -le 65535 ] || die "base port $BASE is too high for $N nodes (raft ports reach $((BASE + N + 10000)))"
    case "$EXTRA" in *$'\n'*) die "CONCORDKV_ARGS must be one line" ;; esac
    resolve_server "${CONCORDKV_SERVER:-$ROOT/concordkv-server}"
    for ((i = 1; i <= N; i++)); do
        node_pid "$DIR" "$i" && running+=" $i"
    done
    [ -z "$running" ] || die "node(s)$running already running in $DIR (use status, or stop first)"
    # Every port is checked before anything is written or started.
    for ((i = 1; i <= N; i++)); do
        for p in $((BASE + i)) $((BASE + i + 10000)) $((BASE + i + 2000)); do
            wait_port_free "$p" 2000 || die "port $p (node $i) is already in use"
        done
    done
    mkdir -p "$DIR" || die "cannot create $DIR"
    printf 'nodes=%s\nbaseport=%s\nargs=%s\n' "$N" "$BASE" "$EXTRA" >"$CONF" ||
        die "cannot write $CONF"
    for ((i = 1; i <= N; i++)); do launch_node "$i"; done
    wait_leader "start"
    STARTED=()
    print_table
    print_leader_line
}

cmd_status() {
    local deadline
    need_conf
    survey
    if [ "$OPT_WAIT" = 1 ]; then
        deadline=$(($(now_ms) + TIMEOUT_S * 1000))
        while [ -z "$LEADER" ] && [ "$(now_ms)" -lt "$deadline" ]; do
            sleep 0.05
            survey
        done
    fi
    print_table
    print_leader_line
    [ -n "$LEADER" ]
}

cmd_stop() {
    local i pid deadline pids=() ids=()
    need_conf
    for ((i = 1; i <= N; i++)); do
        if node_pid "$DIR" "$i"; then
            kill -TERM "$NODE_PID" 2>/dev/null
            pids+=("$NODE_PID")
            ids+=("$i")
        else
            rm -f "$(node_pidfile "$i")"
        fi
    done
    if [ "${#pids[@]}" -eq 0 ]; then
        echo "no node of $DIR is running"
        return 0
    fi
    deadline=$(($(now_ms) + STOP_TIMEOUT_S * 1000))
    for i in "${!pids[@]}"; do
        term_wait "${pids[i]}" "${ids[i]}" "$deadline"
        rm -f "$(node_pidfile "${ids[i]}")"
    done
    echo "stopped node(s) ${ids[*]}"
}

cmd_kill() {
    local pid
    need_conf
    check_id "$NODE_ID"
    node_pid "$DIR" "$NODE_ID" || die "node $NODE_ID is not running"
    pid=$NODE_PID
    kill -KILL "$pid" 2>/dev/null
    wait_gone "$pid" "$NODE_ID"
    rm -f "$(node_pidfile "$NODE_ID")"
    echo "killed node $NODE_ID (pid $pid)"
}

cmd_restart() {
    local pid i=$NODE_ID deadline
    need_conf
    check_id "$i"
    resolve_server "${CONCORDKV_SERVER:-$ROOT/concordkv-server}"
    if node_pid "$DIR" "$i"; then
        term_wait "$NODE_PID" "$i" $(($(now_ms) + STOP_TIMEOUT_S * 1000))
    fi
    launch_node "$i"
    pid=${STARTED[0]#*:}
    deadline=$(($(now_ms) + TIMEOUT_S * 1000))
    wait_ping $((BASE + i)) "$pid" $((TIMEOUT_S * 1000))
    case $? in
        1) die "node $i exited: $(last_log_line "$i") (log: $(node_log "$i"))" ;;
        2) die "node $i did not answer PING within ${TIMEOUT_S}s" ;;
    esac
    # The node is up: from here on it stays running whatever happens to the cluster.
    STARTED=()
    while :; do
        proc_alive "$pid" ||
            die "node $i exited: $(last_log_line "$i") (log: $(node_log "$i"))"
        survey
        [ -n "$LEADER" ] && break
        if [ "$(now_ms)" -ge "$deadline" ]; then
            print_table
            die "node $i is up but no leader is known after ${TIMEOUT_S}s (is a majority of the $N nodes running?)"
        fi
        sleep 0.05
    done
    print_table
    print_leader_line
}

cmd_clean() {
    if [ ! -e "$DIR" ]; then
        echo "nothing to clean: $DIR does not exist"
        return 0
    fi
    [ -f "$CONF" ] || die "$DIR is not a cluster.sh directory (no cluster.conf); not removing it"
    cmd_stop
    rm -rf -- "$DIR" || die "cannot remove $DIR"
    echo "removed $DIR"
}

"cmd_$CMD"
