#!/bin/bash
# ConcordKV black-box compatibility suite through real Redis clients: redis-cli (incl. --pipe),
# redis-benchmark and redis-py (test_python.py), against a server started here on free ports.
# Exit 0 on success, 1 on failure, 77 (skip) when a tool is missing.
#   CONCORDKV_SERVER=/path/to/concordkv-server redis-compat/run.sh
#   CONCORDKV_TEST_REDIS=1 redis-compat/run.sh     # the same checks against redis-server
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=utils/lib.sh
. "$HERE/../utils/lib.sh"
PASSED=0
FAILED=0
PIDS=()
WORK=""
PASSWORD="compat-secret"

# ---- tools ----
for tool in redis-cli redis-benchmark timeout awk; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed"
        exit 77
    fi
done
python_with_redis

# ---- the server under test ----
if [ -n "${CONCORDKV_TEST_REDIS:-}" ] && [ "${CONCORDKV_TEST_REDIS}" != 0 ]; then
    REDIS_MODE=1
    SERVER=${REDIS_SERVER:-redis-server}
else
    REDIS_MODE=0
    SERVER=${CONCORDKV_SERVER:-}
    if [ -z "$SERVER" ]; then
        for cand in "$HERE/../concordkv-server" ./concordkv-server; do
            if [ -x "$cand" ]; then SERVER=$cand; break; fi
        done
    fi
fi
if [ -z "$SERVER" ] || ! command -v "$SERVER" >/dev/null 2>&1; then
    echo "FAIL: server binary not found (${SERVER:-unset}); set CONCORDKV_SERVER" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1"; }

# check NAME EXPECTED ACTUAL
check() {
    if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid" 10000; done
    PIDS=()
    if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

WORK=$(mktemp -d "${TMPDIR:-/tmp}/concordkv-compat-XXXXXX")

# A random port in 20000..29999 whose admin (+2000) and raft (+10000) ports are free too.
free_port() {
    "$PY" - <<'EOF'
import random, socket
def ok(p):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p)); s.listen(1); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(1000):
    p = random.randint(20000, 29999)
    if ok(p) and ok(p + 2000) and ok(p + 10000):
        print(p); break
EOF
}

# start_server NAME [extra options...]: sets STARTED_PORT, or exits 1.
start_server() {
    local name=$1 port dir log pid deadline reply
    shift
    for _ in 1 2 3; do
        port=$(free_port)
        dir="$WORK/$name"
        log="$WORK/$name.log"
        mkdir -p "$dir"
        if [ "$REDIS_MODE" = 1 ]; then
            "$SERVER" --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
                "$@" >>"$log" 2>&1 &
        else
            node_argv 1 "$port" "$dir"
            "$SERVER" "${NODE_ARGV[@]}" "$@" >>"$log" 2>&1 &
        fi
        pid=$!
        PIDS+=("$pid")
        deadline=$(($(now_ms) + 10000))
        while kill -0 "$pid" 2>/dev/null; do
            reply=$(timeout 2 redis-cli -h 127.0.0.1 -p "$port" PING 2>&1)
            case "$reply" in
            PONG | *NOAUTH*)
                STARTED_PORT=$port
                return 0
                ;;
            esac
            if [ "$(now_ms)" -ge "$deadline" ]; then break; fi
            sleep 0.01
        done
        stop_pid "$pid" 10000
        if ! grep -q "in use" "$log"; then break; fi
        echo "port $port taken meanwhile; retrying" >&2
    done
    echo "----- $name failed to start; its log: -----" >&2
    cat "$log" >&2
    fail "start $name"
    echo "$PASSED passed, $FAILED failed"
    exit 1
}

start_server main
PORT=$STARTED_PORT
start_server auth --requirepass "$PASSWORD"
AUTH_PORT=$STARTED_PORT
echo "# server: $SERVER (redis mode: $REDIS_MODE), ports $PORT and $AUTH_PORT"

cli() { timeout 60 redis-cli -h 127.0.0.1 -p "$PORT" "$@" 2>&1; }

# ---- (a) redis-cli ----
echo "# redis-cli"
check "cli SET" "OK" "$(cli SET foo bar)"
check "cli GET" "bar" "$(cli GET foo)"
cli INCR counter >/dev/null
cli INCR counter >/dev/null
check "cli INCR" "3" "$(cli INCR counter)"
check "cli INCRBY" "13" "$(cli INCRBY counter 10)"
check "cli INCR on a string" "ERR value is not an integer or out of range" "$(cli INCR foo)"
check "cli EXPIRE" "1" "$(cli EXPIRE foo 100)"
ttl=$(cli TTL foo)
if [[ "$ttl" =~ ^[0-9]+$ ]] && [ "$ttl" -ge 1 ] && [ "$ttl" -le 100 ]; then
    pass "cli TTL"
else
    fail "cli TTL: expected 1..100, got '$ttl'"
fi
check "cli TTL of a key without expiry" "-1" "$(cli TTL counter)"
check "cli TTL of a missing key" "-2" "$(cli TTL nosuchkey)"
check "cli DEL" "1" "$(cli DEL foo)"
check "cli GET deleted" "" "$(cli GET foo)"
check "cli EXISTS deleted" "0" "$(cli EXISTS foo)"
cli SET user:1 a >/dev/null
cli SET user:2 b >/dev/null
cli SET other c >/dev/null
check "cli KEYS pattern" "user:1 user:2" "$(cli KEYS 'user:*' | sort | tr '\n' ' ' | sed 's/ $//')"
check "cli wrong arity" "ERR wrong number of arguments for 'get' command" "$(cli GET)"
check "cli unknown command" "ERR unknown command 'nosuch', with args beginning with: 'x' " \
    "$(cli nosuch x)"

# Mass insertion of 100,000 SETs in RESP.
before=$(cli DBSIZE)
awk 'BEGIN { for (i = 0; i < 100000; i++) { k = sprintf("pipe:%06d", i); v = "value:" i;
      printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' \
    >"$WORK/pipe.resp"
out=$(timeout 120 redis-cli -h 127.0.0.1 -p "$PORT" --pipe <"$WORK/pipe.resp" 2>&1)
if grep -q "errors: 0, replies: 100000" <<<"$out"; then
    pass "cli --pipe 100000 SETs"
else
    fail "cli --pipe 100000 SETs: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
fi
after=$(cli DBSIZE)
check "DBSIZE after --pipe" "$((before + 100000))" "$after"
check "GET a piped key" "value:99999" "$(cli GET pipe:099999)"

# SCAN by hand (cursor loop) and through redis-cli --scan.
cursor=0
: >"$WORK/scan.out"
for _ in $(seq 1 100000); do
    out=$(cli SCAN "$cursor" MATCH 'pipe:0000*' COUNT 10000)
    cursor=$(head -n 1 <<<"$out")
    tail -n +2 <<<"$out" | sed '/^$/d' >>"$WORK/scan.out"
    if ! [[ "$cursor" =~ ^[0-9]+$ ]]; then
        fail "cli SCAN: bad cursor '$cursor'"
        break
    fi
    [ "$cursor" = 0 ] && break
done
check "cli SCAN cursor loop finds 100 keys" "100" "$(sort -u "$WORK/scan.out" | wc -l)"
check "cli --scan --pattern" "1000" \
    "$(cli --scan --pattern 'pipe:000*' | sort -u | grep -c '^pipe:000')"

# A server with requirepass.
check "cli NOAUTH" "NOAUTH Authentication required." \
    "$(timeout 20 redis-cli -h 127.0.0.1 -p "$AUTH_PORT" GET x 2>&1)"
check "cli -a" "PONG" \
    "$(timeout 20 redis-cli -h 127.0.0.1 -p "$AUTH_PORT" -a "$PASSWORD" --no-auth-warning PING 2>&1)"

# ACL users: redis-cli --user/--pass, -NOPERM, ACL WHOAMI.
check "cli ACL SETUSER" "OK" "$(cli ACL SETUSER cli-reader on '>clipw' '~cli:*' '+@read' '+acl|whoami')"
ucli() { timeout 20 redis-cli -h 127.0.0.1 -p "$PORT" --user cli-reader --pass clipw --no-auth-warning "$@" 2>&1; }
check "cli --user ACL WHOAMI" "cli-reader" "$(ucli ACL WHOAMI)"
check "cli --user GET allowed key" "" "$(ucli GET cli:1)"
check "cli --user SET" "NOPERM this user has no permissions to run the 'set' command" "$(ucli SET cli:1 x)"
check "cli --user GET other key" \
    "NOPERM this user has no permissions to access one of the keys used as arguments" "$(ucli GET other)"
check "cli --user wrong password" "AUTH failed: WRONGPASS invalid username-password pair or user is disabled." \
    "$(timeout 20 redis-cli -h 127.0.0.1 -p "$PORT" --user cli-reader --pass nope --no-auth-warning PING 2>&1 | head -n 1)"
check "cli ACL DELUSER" "1" "$(cli ACL DELUSER cli-reader)"

# Databases: redis-cli -n.
check "cli -n 3 SET" "OK" "$(cli -n 3 SET cli:db three)"
check "cli -n 3 GET" "three" "$(cli -n 3 GET cli:db)"
check "cli GET in database 0" "" "$(cli GET cli:db)"
check "cli -n 3 DEL" "1" "$(cli -n 3 DEL cli:db)"

# ---- (b) redis-benchmark ----
echo "# redis-benchmark"
timeout 300 redis-benchmark -h 127.0.0.1 -p "$PORT" -q -n 20000 -c 20 \
    -t set,get,incr,mset,lpush,rpush,lpop,rpop,lrange_100 -P 8 >"$WORK/bench.out" 2>&1
rc=$?
out=$(tr '\r' '\n' <"$WORK/bench.out")
check "redis-benchmark exit status" "0" "$rc"
for t in "SET" "GET" "INCR" "MSET (10 keys)" "LPUSH" "RPUSH" "LPOP" "RPOP" \
    "LRANGE_100 (first 100 elements)"; do
    if grep -qF "$t: " <<<"$out" && grep -F "$t: " <<<"$out" | grep -q "requests per second"; then
        pass "redis-benchmark $t"
    else
        fail "redis-benchmark $t: no result line"
    fi
done
if grep -qiE "ERR|error|could not|WARN" <<<"$out"; then
    fail "redis-benchmark errors: $(grep -iE "ERR|error|could not|WARN" <<<"$out" | head -n 3)"
else
    pass "redis-benchmark without errors"
fi
grep "requests per second" <<<"$out" | sed 's/^ */  /'

# ---- (c) redis-py ----
echo "# redis-py ($PY)"
out=$(timeout 300 "$PY" "$HERE/test_python.py" --port "$PORT" --auth-port "$AUTH_PORT" \
    --password "$PASSWORD" 2>&1)
tally python $? "$out"

# ---- (d) redis-py Pub/Sub on a 3-node cluster ----
if [ "$REDIS_MODE" = 0 ]; then
    echo "# redis-py Pub/Sub on a 3-node cluster"
    PROG=run.sh
    CBASE=$(free_base 3)
    if CONCORDKV_SERVER=$SERVER "$HERE/../utils/cluster.sh" start -n 3 -d "$WORK/cluster" \
        -p "$CBASE" >"$WORK/cluster.out" 2>&1 && (wait_healthy "$CBASE" cluster 1 2 3 &&
        echo "$LEADER_PORT" >"$WORK/leader") 2>>"$WORK/cluster.out"; then
        out=$(timeout 120 "$PY" "$HERE/test_python.py" --leader-port "$(cat "$WORK/leader")" \
            --cluster-ports "$((CBASE + 1)),$((CBASE + 2)),$((CBASE + 3))" 2>&1)
        if grep -q '^ok - cluster_pubsub' <<<"$out"; then
            pass "python cluster_pubsub"
        else
            fail "python cluster_pubsub: $(grep -E '^not ok' <<<"$out" | head -n 1)"
        fi
        # What cluster clients need: redis-py RedisCluster (and its replica reads), redis-cli --cluster.
        out=$(timeout 180 "$PY" "$HERE/test_cluster.py" \
            --cluster-ports "$((CBASE + 1)),$((CBASE + 2)),$((CBASE + 3))" 2>&1)
        for t in rediscluster_plain rediscluster_read_from_replicas; do
            if grep -q "^ok - $t\$" <<<"$out"; then
                pass "python $t"
            else
                fail "python $t: $(grep -E "^not ok - $t|Error" <<<"$out" | head -n 1)"
            fi
        done
        out=$(timeout 60 redis-cli --cluster check "127.0.0.1:$((CBASE + 1))" 2>&1)
        rc=$?
        if [ "$rc" = 0 ] && grep -q "All 16384 slots covered" <<<"$out" &&
            grep -q "All nodes agree about slots configuration" <<<"$out"; then
            pass "cli --cluster check"
        else
            fail "cli --cluster check (exit $rc): $(tail -n 3 <<<"$out" | tr '\n' ' ')"
        fi
        out=$(timeout 60 redis-cli --cluster info "127.0.0.1:$((CBASE + 2))" 2>&1)
        rc=$?
        if [ "$rc" = 0 ] && grep -q "16384 slots | 2 slaves" <<<"$out"; then
            pass "cli --cluster info"
        else
            fail "cli --cluster info (exit $rc): $(tail -n 3 <<<"$out" | tr '\n' ' ')"
        fi
    else
        fail "cluster start: $(tail -n 3 "$WORK/cluster.out" | tr '\n' ' ')"
    fi
    stop_cluster_dir "$WORK/cluster"
fi

# ---- the servers survived ----
for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then pass "server $pid still running"; else fail "server $pid died"; fi
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
