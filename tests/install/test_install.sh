#!/bin/sh
# The installed layout: `make install DESTDIR=<tmp> prefix=/usr sysconfdir=/etc` from this
# build, the files a package would hold, the systemd units through systemd-analyze verify,
# and the installed server started with the installed sample config (port and dir moved to
# free ones on the command line): READY=1 on $NOTIFY_SOCKET, PING, SET/GET, the installed
# cluster manager, SIGTERM by pid. Last line "N passed, N failed" (.ci/run sums them).
# Exit 77 (skip) only when a tool it needs is missing.
set -u

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
check() { # check <description> <command...>
    d=$1
    shift
    if "$@"; then ok "$d"; else fail "$d"; fi
}

for tool in make redis-cli python3 cmp; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool not found"
        exit 77
    fi
done
if [ -z "${CONCORDKV_SERVER:-}" ] || [ -z "${CONCORDKV_SRCDIR:-}" ]; then
    echo "SKIP: run through make check (CONCORDKV_SERVER, CONCORDKV_SRCDIR unset)"
    exit 77
fi
builddir=$(dirname "$CONCORDKV_SERVER")
srcdir=$CONCORDKV_SRCDIR

tmp=$(mktemp -d /tmp/concordkv-install.XXXXXX)
server_pid=""
notify_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null
    [ -n "$notify_pid" ] && kill "$notify_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
root=$tmp/root

# ---- make install ----
# A make of its own, not a part of the make check that runs this test.
if (cd "$builddir" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
        make install DESTDIR="$root" prefix=/usr sysconfdir=/etc >"$tmp/install.log" 2>&1); then
    ok "make install DESTDIR=... prefix=/usr sysconfdir=/etc"
else
    fail "make install DESTDIR=... prefix=/usr sysconfdir=/etc"
    cat "$tmp/install.log"
    echo "$passed passed, $failed failed"
    exit 1
fi

# ---- the files ----
server=$root/usr/bin/concordkv-server
cm=$root/usr/bin/concordkv-cluster-manager
conf=$root/etc/concordkv/concordkv.conf
check "usr/bin/concordkv-server is executable" test -x "$server"
check "usr/bin/concordkv-cluster-manager is executable" test -x "$cm"
check "no usr/bin/cluster_manager (installed under its long name)" test ! -e "$root/usr/bin/cluster_manager"
check "etc/concordkv/concordkv.conf is the sample" cmp -s "$conf" "$srcdir/concordkv.conf"
for page in concordkv-server concordkv-cluster-manager; do
    man=$root/usr/share/man/man1/$page.1
    check "man page $page(1) installed" test -s "$man"
    check "$page(1) has a SYNOPSIS" grep -q "^\\.SH SYNOPSIS" "$man"
done
check "concordkv-server(1) documents --snapshot-threshold" \
    grep -q 'snapshot\\\?-threshold' "$root/usr/share/man/man1/concordkv-server.1"
check "concordkv-cluster-manager(1) documents transfer" \
    grep -q 'transfer' "$root/usr/share/man/man1/concordkv-cluster-manager.1"
check "sysusers.d file for the concordkv user" grep -q '^u concordkv ' "$root/usr/lib/sysusers.d/concordkv.conf"
unitdir=$(dirname "$(find "$root" -name concordkv-server.service | head -1)")
unit=$unitdir/concordkv-server.service
check "concordkv-server.service installed" test -f "$unit"
check "concordkv-server@.service installed" test -f "$unitdir/concordkv-server@.service"
check "the unit runs /usr/bin/concordkv-server /etc/concordkv/concordkv.conf" \
    grep -q '^ExecStart=/usr/bin/concordkv-server /etc/concordkv/concordkv.conf$' "$unit"
check "the unit is Type=notify as User=concordkv" sh -c "grep -q '^Type=notify$' '$unit' && grep -q '^User=concordkv$' '$unit'"
check "the unit's data dir is the sample config's dir" \
    sh -c "grep -q '^StateDirectory=concordkv$' '$unit' && grep -q '^dir /var/lib/concordkv$' '$conf'"
check "the installed cluster manager names itself" \
    sh -c "'$cm' --help | head -1 | grep -q '^Usage: concordkv-cluster-manager '"
check "the installed server prints its version" \
    sh -c "'$server' --version | grep -q '^concordkv-server [0-9]'"

# ---- systemd-analyze verify ----
# The units name /usr/bin/concordkv-server, which is under DESTDIR here: verify copies whose
# paths point into DESTDIR, with MANPATH at the installed man pages (Documentation=man:...).
# verify exits 0 after warnings (an unknown key, a bad value), so any output fails.
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$tmp/verify"
    for u in concordkv-server.service concordkv-server@.service; do
        sed -e "s|/usr/bin/concordkv-server|$server|g" "$unitdir/$u" >"$tmp/verify/$u"
    done
    for u in concordkv-server.service concordkv-server@node1.service; do
        if MANPATH=$root/usr/share/man systemd-analyze verify "$tmp/verify/$u" >"$tmp/verify.out" 2>&1 &&
            [ ! -s "$tmp/verify.out" ]; then
            ok "systemd-analyze verify $u"
        else
            fail "systemd-analyze verify $u"
            cat "$tmp/verify.out"
        fi
    done
else
    # The equivalent static check: every key is one of a unit's, the executable exists.
    echo "note: systemd-analyze not found (Debian package systemd): static checks only"
    check "ExecStart's executable is installed" test -x "$server"
    check "the unit has [Unit], [Service] and [Install]" \
        sh -c "grep -q '^\\[Unit\\]$' '$unit' && grep -q '^\\[Service\\]$' '$unit' && grep -q '^\\[Install\\]$' '$unit'"
fi

# ---- the installed server with the installed config ----
ports=$(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
set -- $ports
port=$1 raft_port=$2 admin_port=$3

# A stand-in for systemd's notification socket: every datagram appended to notify.out.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
while True:
    msg = s.recv(4096)
    with open(sys.argv[2], "ab") as f:
        f.write(msg + b"\n")
' "$tmp/notify.sock" "$tmp/notify.out" &
notify_pid=$!

# Poll CMD until it succeeds or SECONDS pass.
wait_for() { # wait_for <seconds> <command...>
    n=$(($1 * 10))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}
wait_for 10 test -S "$tmp/notify.sock"

NOTIFY_SOCKET=$tmp/notify.sock "$server" "$conf" --port "$port" --raft-port "$raft_port" \
    --admin-port "$admin_port" --dir "$tmp/data" >"$tmp/server.log" 2>&1 &
server_pid=$!

check "READY=1 on NOTIFY_SOCKET" wait_for 30 grep -q '^READY=1$' "$tmp/notify.out"
rcli() { redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null; }
check "PING answers PONG" wait_for 30 sh -c "[ \"\$(redis-cli -h 127.0.0.1 -p $port PING 2>/dev/null)\" = PONG ]"
# A one-node cluster: writes need its election, which follows startup.
check "SET is OK" wait_for 30 sh -c "[ \"\$(redis-cli -h 127.0.0.1 -p $port SET installed yes 2>/dev/null)\" = OK ]"
check "GET reads it back" test "$(rcli GET installed)" = yes
check "CONFIG GET dir is the command line's" test "$(rcli CONFIG GET dir | tail -1)" = "$tmp/data"
check "the installed cluster manager lists the node" \
    sh -c "'$cm' -s http://127.0.0.1:$admin_port list | grep -q '^1 .*127.0.0.1:$raft_port'"

kill -TERM "$server_pid"
wait "$server_pid"
rc=$?
server_pid=""
check "SIGTERM: the server exits 0" test "$rc" = 0
check "STOPPING=1 on NOTIFY_SOCKET" grep -q '^STOPPING=1$' "$tmp/notify.out"
if [ "$failed" -gt 0 ]; then
    echo "--- server log ---"
    cat "$tmp/server.log"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
