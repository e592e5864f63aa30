#!/bin/sh
# The web admin page's browser test (tests/web/test_admin_page.py), run by `make check`.
# Exit 77 (skipped) when Debian's python3 with Selenium, chromium or chromium-driver is missing.
# Last line: "N passed, N failed".
PY=/usr/bin/python3
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
HERE=$(cd "$(dirname "$0")" && pwd)
if ! [ -x "$PY" ]; then
    echo "web: $PY is required: skipped"
    echo "0 passed, 0 failed"
    exit 77
fi
exec timeout 120 "$PY" "$HERE/test_admin_page.py"
