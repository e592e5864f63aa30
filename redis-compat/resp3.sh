#!/bin/bash
# RESP3 differential suite: starts a redis-server 7.0 and a one-node ConcordKV on free
# loopback ports, sends both the same commands over raw sockets (test_resp3.py) and compares
# the replies byte for byte, RESP3 after HELLO 3 and RESP2 after HELLO 2 / RESET.
# Exit 0 on success, 1 on failure, 77 (skip) when redis-server or python3 is missing.
#   CONCORDKV_SERVER=/path/to/concordkv-server redis-compat/resp3.sh
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=utils/lib.sh
. "$HERE/../utils/lib.sh"
REDIS=${REDIS_SERVER:-redis-server}
for tool in "$REDIS" python3 redis-cli; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed"
        exit 77
    fi
done
SERVER=${CONCORDKV_SERVER:-$HERE/../concordkv-server}
if ! [ -x "$SERVER" ]; then
    echo "FAIL: server binary not found ($SERVER); set CONCORDKV_SERVER" >&2
    exit 1
fi

PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/concordkv-resp3-XXXXXX")
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid" 10000; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start NAME PORT-VAR command...: start it, wait for PONG (10 s), retry on a taken port.
start() {
    local name=$1 var=$2 port pid deadline
    shift 2
    for _ in 1 2 3; do
        port=$(($(free_base 1) + 1)) # with its admin (+2000) and raft (+10000) ports
        mkdir -p "$WORK/$name"
        "$@" "$port" "$WORK/$name" >>"$WORK/$name.log" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        deadline=$(($(now_ms) + 10000))
        while kill -0 "$pid" 2>/dev/null && [ "$(now_ms)" -lt "$deadline" ]; do
            if [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null)" = PONG ]; then
                printf -v "$var" %s "$port"
                return 0
            fi
            sleep 0.01
        done
        stop_pid "$pid" 10000
        grep -q "in use" "$WORK/$name.log" || break
    done
    echo "FAIL: $name did not start; its log:" >&2
    cat "$WORK/$name.log" >&2
    exit 1
}
run_redis() { exec "$REDIS" --bind 127.0.0.1 --port "$1" --dir "$2" --save "" --appendonly no; }
run_concordkv() { node_argv 1 "$1" "$2"; exec "$SERVER" "${NODE_ARGV[@]}"; }

start redis REDIS_PORT run_redis
start concordkv CKV_PORT run_concordkv
timeout 120 python3 "$HERE/test_resp3.py" --redis-port "$REDIS_PORT" --concordkv-port "$CKV_PORT"
