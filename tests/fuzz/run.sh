#!/usr/bin/env bash
# make check's fuzz pass: runs every libFuzzer target built by tests/fuzz/fuzz.mk for
# FUZZ_SECONDS each (default 18: 11 targets in under 4 minutes; FUZZ_TARGETS narrows the
# list), from its seeds (tests/fuzz/corpus/<target>/ and those tests/fuzz/fuzz_seeds writes), with
# new inputs kept in a temp dir that is removed. Prints each target's executions and
# coverage and a closing "N passed, N failed"; exits 77 (skip) when the targets were not
# built (configure found no clang with -fsanitize=fuzzer). Long runs: utils/fuzz.sh.
set -u
src=${CONCORDKV_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(pwd)
seconds=${FUZZ_SECONDS:-18}
targets=${FUZZ_TARGETS:-resp entry snapshot config admin_body peerauth peerframe listpack dict zskiplist apply}

if [[ ${CONCORDKV_FUZZ:-yes} == no ]]; then
    echo "fuzz: configure found no clang with -fsanitize=fuzzer (install clang and libfuzzer-14-dev): skipped"
    exit 77
fi
have=0
for t in $targets; do
    [[ -x $build/tests/fuzz/fuzz_$t ]] && have=1
done
if [[ $have == 0 ]]; then
    echo "fuzz: targets not built (no clang with -fsanitize=fuzzer): skipped"
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/concordkv-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$build/tests/fuzz/fuzz_seeds" "$work/seeds" || { echo "fuzz: seed generation failed"; exit 1; }

passed=0
failed=0
for t in $targets; do
    bin=$build/tests/fuzz/fuzz_$t
    if [[ ! -x $bin ]]; then
        echo "fuzz $t: not built"
        failed=$((failed + 1))
        continue
    fi
    mkdir -p "$work/new/$t" "$work/art/$t"
    dirs=("$work/new/$t")
    [[ -d $src/tests/fuzz/corpus/$t ]] && dirs+=("$src/tests/fuzz/corpus/$t")
    [[ -d $work/seeds/$t ]] && dirs+=("$work/seeds/$t")
    log=$work/$t.log
    # -rss_limit_mb: a target that needs more than this is a bug; -timeout: a hang is too.
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/art/$t/" "${dirs[@]}" >"$log" 2>&1
    rc=$?
    stats=$(grep -aE '^#[0-9]+.*(DONE|cov:)' "$log" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [[ $rc -eq 0 ]]; then
        echo "fuzz $t: ok, ${execs:-?} executions in ${seconds}s; $stats"
        passed=$((passed + 1))
    else
        echo "fuzz $t: FAILED (exit $rc); last 60 lines of its log:"
        tail -n 60 "$log"
        for a in "$work/art/$t"/*; do
            [[ -f $a ]] || continue
            echo "--- artifact $(basename "$a") (hex):"
            head -c 512 "$a" | od -An -tx1 | head -20
        done
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
