#!/bin/bash
# The client matrix: redis-py (plain, pipeline, MULTI/EXEC; RedisCluster with and without
# read_from_replicas: matrix.py), ioredis 5 (Redis, Redis.Cluster with scaleReads master and
# slave) and node-redis 4 (createClient, createCluster with and without useReplicas:
# matrix.js; installed from npm into the temp dir, skipped with a SKIP line when that fails)
# against one node, the leader of a 3-node cluster and a follower in follower-mode auto,
# moved (plain clients get -MOVED) and proxy; then the cluster clients write through a SIGKILL
# of the leader and every acknowledged write is read back from the new leader. hiredis (C) is
# covered by the Criterion suites (tests/), Sentinel clients by sentinel.sh.
# Free ports, a temp dir, every node stopped by pid. Exit 0 on success, 1 on failure, 77 (skip)
# when python3-redis is missing.
#   CONCORDKV_SERVER=/path/to/concordkv-server redis-compat/matrix.sh
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=matrix.sh
# shellcheck source=utils/lib.sh
. "$HERE/../utils/lib.sh"
PASSED=0
FAILED=0
WORK=""
SINGLE_PID=""

python_with_redis
SERVER=${CONCORDKV_SERVER:-$HERE/../concordkv-server}
if ! [ -x "$SERVER" ]; then
    echo "FAIL: server binary not found ($SERVER); set CONCORDKV_SERVER" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1"; }

FO_PIDS=()
cleanup() {
    local pid
    for pid in "${FO_PIDS[@]}"; do stop_pid "$pid" 2000; done
    [ -z "$SINGLE_PID" ] || stop_pid "$SINGLE_PID" 10000
    if [ -n "$WORK" ]; then
        stop_cluster_dir "$WORK/cluster"
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
WORK=$(mktemp -d "${TMPDIR:-/tmp}/concordkv-matrix-XXXXXX")

give_up() {
    fail "$1"
    echo "$PASSED passed, $FAILED failed"
    exit 1
}

# ---- one node ----
SBASE=$(free_base 1)
SPORT=$((SBASE + 1))
node_argv 1 "$SPORT" "$WORK/single"
mkdir -p "$WORK/single"
"$SERVER" "${NODE_ARGV[@]}" >"$WORK/single.log" 2>&1 &
SINGLE_PID=$!
wait_ping "$SPORT" "$SINGLE_PID" 20000 || give_up "single node start: $(tail -n 3 "$WORK/single.log" | tr '\n' ' ')"

# ---- a 3-node cluster ----
CBASE=$(free_base 3)
if ! { CONCORDKV_SERVER=$SERVER CLUSTER_TIMEOUT=30 "$HERE/../utils/cluster.sh" start -n 3 \
    -d "$WORK/cluster" -p "$CBASE" >"$WORK/cluster.out" 2>&1 &&
    (wait_healthy "$CBASE" cluster 1 2 3 && echo "$LEADER_PORT" >"$WORK/leader") 2>>"$WORK/cluster.out"; }; then
    give_up "cluster start: $(tail -n 3 "$WORK/cluster.out" | tr '\n' ' ')"
fi
LEADER=$(cat "$WORK/leader")
FOLLOWERS=()
SEEDS=""
for i in 1 2 3; do
    SEEDS+="${SEEDS:+,}$((CBASE + i))"
    [ $((CBASE + i)) = "$LEADER" ] || FOLLOWERS+=($((CBASE + i)))
done
F_AUTO=${FOLLOWERS[0]}
F_OTHER=${FOLLOWERS[1]}
if ! resp "$F_OTHER" CONFIG SET follower-mode moved || [ "$RESP_REPLY" != +OK ]; then
    give_up "CONFIG SET follower-mode moved: $RESP_REPLY"
fi
echo "# one node on $SPORT; cluster $SEEDS: leader $LEADER, follower $F_AUTO (auto), $F_OTHER (moved, then proxy)"
TARGETS=("single:$SPORT:ok" "leader:$LEADER:ok" "follower-auto:$F_AUTO:ok" "follower-moved:$F_OTHER:moved")

# ---- npm ----
NODE_OK=0
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP ioredis, node-redis: node or npm is not installed"
elif ! (cd "$WORK" && timeout 120 npm install --loglevel=error --no-audit --no-fund --fetch-retries=1 \
    --fetch-timeout=20000 --prefix "$WORK/npm" ioredis@5 redis@4 >"$WORK/npm.out" 2>&1); then
    echo "SKIP ioredis, node-redis: npm install ioredis@5 redis@4 failed (registry unreachable?): $(tail -n 2 "$WORK/npm.out" | tr '\n' ' ')"
else
    NODE_OK=1
fi
node_js() { NODE_PATH="$WORK/npm/node_modules" timeout 120 node "$HERE/matrix.js" "$@" 2>&1; }

# cells TARGET...: every client against the targets.
cells() {
    local out
    out=$(timeout 120 "$PY" "$HERE/matrix.py" cells "${@/#/--target=}" 2>&1)
    tally "" $? "$out"
    if [ "$NODE_OK" = 1 ]; then
        out=$(node_js cells "$@")
        tally "" $? "$out"
    fi
}

if [ "${MATRIX_CELLS:-1}" != 0 ]; then # MATRIX_CELLS=0: only the failover (to debug it)
    echo "# the matrix"
    cells "${TARGETS[@]}"
    if ! resp "$F_OTHER" CONFIG SET follower-mode proxy || [ "$RESP_REPLY" != +OK ]; then
        give_up "CONFIG SET follower-mode proxy: $RESP_REPLY"
    fi
    cells "follower-proxy:$F_OTHER:ok"
fi

# ---- the cluster clients through a SIGKILL of the leader ----
echo "# cluster clients through a SIGKILL of the leader"
mkdir -p "$WORK/fo"
FO_NAMES=(py-cluster py-cluster+replicas)
# (redis-py before 4.4 needs a work-around for its own bug there, see matrix.py.)
"$PY" "$HERE/matrix.py" failover --seeds "$SEEDS" --dir "$WORK/fo" --name py-cluster \
    >"$WORK/fo/py-cluster.out" 2>&1 &
FO_PIDS+=($!)
"$PY" "$HERE/matrix.py" failover --seeds "$SEEDS" --dir "$WORK/fo" --name py-cluster+replicas \
    --replicas --xfail-slow "CLUSTER SLOTS still lists the killed node as a replica (Redis omits \
failed replicas); redis-py sends it a third of the reads, each costing 5 connection attempts \
0.25 s apart" >"$WORK/fo/py-cluster+replicas.out" 2>&1 &
FO_PIDS+=($!)
if [ "$NODE_OK" = 1 ]; then
    FO_NAMES+=(ioredis-cluster+slave node-redis-cluster+replicas)
    NODE_PATH="$WORK/npm/node_modules" node "$HERE/matrix.js" failover ioredis "$SEEDS" "$WORK/fo" \
        >"$WORK/fo/ioredis-cluster+slave.out" 2>&1 &
    FO_PIDS+=($!)
    NODE_PATH="$WORK/npm/node_modules" node "$HERE/matrix.js" failover noderedis "$SEEDS" "$WORK/fo" \
        >"$WORK/fo/node-redis-cluster+replicas.out" 2>&1 &
    FO_PIDS+=($!)
fi
# Every client has 100 acknowledged writes (or has exited): SIGKILL the leader.
deadline=$(($(now_ms) + 30000))
for k in "${!FO_NAMES[@]}"; do
    while ! [ -e "$WORK/fo/${FO_NAMES[k]}.ready" ] && proc_alive "${FO_PIDS[k]}" &&
        [ "$(now_ms)" -lt "$deadline" ]; do
        pause 0.02
    done
done
KILLED=""
for i in 1 2 3; do
    if [ $((CBASE + i)) = "$LEADER" ] && node_pid "$WORK/cluster" "$i"; then
        kill -KILL "$NODE_PID"
        KILLED=$i
    fi
done
[ -n "$KILLED" ] || fail "the leader ($LEADER) was not running when it was to be killed"
: >"$WORK/fo/killed"
echo "# SIGKILLed node $KILLED (port $LEADER)"
# fo_wait K: wait for failover client K (it stops itself within 75 s; this bounds a hung one).
fo_wait() {
    local deadline=$(($(now_ms) + 80000))
    while proc_alive "${FO_PIDS[$1]}" && [ "$(now_ms)" -lt "$deadline" ]; do pause 0.05; done
    proc_alive "${FO_PIDS[$1]}" && kill -KILL "${FO_PIDS[$1]}"
    wait "${FO_PIDS[$1]}"
    tally "" $? "$(cat "$WORK/fo/${FO_NAMES[$1]}.out")"
}
RESTARTED=0
if [ "${#FO_NAMES[@]}" = 4 ]; then
    # node-redis 4's createCluster rediscovers the slots only on a -MOVED/-ASK reply, never on a
    # connection error: it retries the dead master's address until something answers there.
    # Once the other clients are through (they stop 20 s after the kill at the latest), start
    # the killed node again: as a follower it redirects node-redis's commands.
    deadline=$(($(now_ms) + 40000))
    while { proc_alive "${FO_PIDS[0]}" || proc_alive "${FO_PIDS[1]}" || proc_alive "${FO_PIDS[2]}"; } &&
        [ "$(now_ms)" -lt "$deadline" ]; do
        pause 0.05
    done
    "$HERE/../utils/cluster.sh" restart "$KILLED" -d "$WORK/cluster" >>"$WORK/cluster.out" 2>&1 ||
        fail "restart of node $KILLED: $(tail -n 3 "$WORK/cluster.out" | tr '\n' ' ')"
    RESTARTED=1
    echo "# node $KILLED started again for node-redis (it rediscovers the slots only on -MOVED)"
fi
for k in "${!FO_NAMES[@]}"; do fo_wait "$k"; done

# Every write a client was told succeeded is on the new leader.
survivors=()
for i in 1 2 3; do [ "$i" = "$KILLED" ] && [ "$RESTARTED" = 0 ] || survivors+=("$i"); done
if (wait_healthy "$CBASE" "cluster after the kill" "${survivors[@]}" && echo "$LEADER_PORT" \
    >"$WORK/leader") 2>>"$WORK/cluster.out"; then
    NEW_LEADER=$(cat "$WORK/leader")
    for name in "${FO_NAMES[@]}"; do
        out=$("$PY" - "$NEW_LEADER" "$WORK/fo/$name.acked" <<'EOF'
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), socket_timeout=10)
pairs = [l.split() for l in open(sys.argv[2]) if l.strip()]
lost = [k for k, v in pairs if r.get(k) != v.encode()]
print("%d %d %s" % (len(pairs), len(lost), " ".join(lost[:5])))
EOF
        )
        read -r n lost rest <<<"$out"
        if [ "${lost:-x}" = 0 ] && [ "${n:-0}" -gt 0 ]; then
            pass "$name: all $n acknowledged writes on the new leader ($NEW_LEADER)"
        else
            fail "$name: acknowledged writes lost on the new leader: $out"
        fi
    done
else
    fail "no new leader after the kill: $(tail -n 3 "$WORK/cluster.out" | tr '\n' ' ')"
fi

# ---- the servers survived ----
if proc_alive "$SINGLE_PID"; then pass "single node still running"; else fail "single node died"; fi
for i in "${survivors[@]}"; do
    if node_pid "$WORK/cluster" "$i"; then pass "node $i still running"; else fail "node $i died"; fi
done

[ "$XFAILED" = 0 ] || echo "# $XFAILED expected failures (XFAIL lines above, with their reasons)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
