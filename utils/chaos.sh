#!/bin/sh
# Long chaos mode: every fault scenario of tests/chaos/run.py for M minutes each (default 10)
# against a 5-node cluster of ./concordkv-server, then a report in docs/SAFETY.md (between its
# chaos-report markers): operations by outcome, faults injected, each checker's verdict
# (register, append, queue), the exact commands. On a violation the history, node logs and
# smallest failing windows are kept under the results directory.
#
# usage: utils/chaos.sh [--minutes-per-scenario M] [--scenarios "kill-leader pause ..."]
#                       [--results DIR] [--report FILE] [--server PATH]
# Exit 0 when every scenario passed, 1 otherwise, 77 without /usr/bin/python3 + python3-redis.
PY=/usr/bin/python3
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MINUTES=10
SCENARIOS="kill-leader kill-random pause partition-leader partition membership disk combined"
RESULTS="${TMPDIR:-/tmp}/concordkv-chaos-$(date +%Y%m%d-%H%M%S)"
REPORT="$ROOT/docs/SAFETY.md"
SERVER="${CONCORDKV_SERVER:-$ROOT/concordkv-server}"
ARGS="$*"

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
        --minutes-per-scenario) MINUTES=$2; shift 2 ;;
        --scenarios) SCENARIOS=$2; shift 2 ;;
        --results) RESULTS=$2; shift 2 ;;
        --report) REPORT=$2; shift 2 ;;
        --server) SERVER=$2; shift 2 ;;
        -h|--help) usage ;;
        *) echo "chaos.sh: unknown argument '$1'" >&2; usage ;;
    esac
done

if ! [ -x "$PY" ] || ! "$PY" -c 'import redis' 2>/dev/null; then
    echo "chaos.sh: $PY with python3-redis is required (apt-get install python3-redis)" >&2
    exit 77
fi
if ! [ -x "$SERVER" ]; then
    echo "chaos.sh: no server binary at $SERVER (run make first, or pass --server)" >&2
    exit 1
fi

mkdir -p "$RESULTS"
# Test one binary from start to end, even if the tree is rebuilt meanwhile; say which.
cp "$SERVER" "$RESULTS/concordkv-server"
{
    echo "server: $SERVER ($(stat -c %y "$SERVER" | cut -d. -f1))"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
        git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -q . &&
        echo ' (with uncommitted changes)')"
    echo "started: $(date -u '+%Y-%m-%d %H:%M UTC')"
} > "$RESULTS/build.txt"
SERVER="$RESULTS/concordkv-server"
seconds=$(awk "BEGIN { printf \"%d\", $MINUTES * 60 }")
failed=0
for s in $SCENARIOS; do
    echo "== $s: $MINUTES min of faults ($(date +%H:%M:%S))"
    timeout -k 30 $((seconds + 900)) "$PY" "$ROOT/tests/chaos/run.py" --scenario "$s" \
        --duration "$seconds" --out "$RESULTS" --server "$SERVER" 2>&1 | tee "$RESULTS/$s.log"
    if ! grep -q "^$s: PASS" "$RESULTS/$s.log"; then
        failed=$((failed + 1))
    fi
done

"$PY" "$ROOT/tests/chaos/report.py" --results "$RESULTS" --report "$REPORT" --minutes "$MINUTES" \
    --command "utils/chaos.sh${ARGS:+ $ARGS}"
echo "results in $RESULTS; $failed scenario(s) failed"
[ "$failed" -eq 0 ]
