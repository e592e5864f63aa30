#!/usr/bin/env bash
# Long fuzzing runs of the libFuzzer targets (tests/fuzz/, built by `make fuzz-targets` when
# configure found clang with -fsanitize=fuzzer): each target for N seconds (default 600),
# one after the other, from its seeds (tests/fuzz/corpus/<target>/ and the binary seeds of
# tests/fuzz/fuzz_seeds). Every new input libFuzzer finds is kept in RESULTS/corpus/<target>/
# (so a later run with the same --results goes on from there), crashes, leaks and hangs in
# RESULTS/artifacts/<target>/, each run's log in RESULTS/<target>.log. Prints, per target, the
# executions and libFuzzer's final cov: (edges) and ft: (features), and a closing
# "N passed, N failed". Reproduce a crash: tests/fuzz/fuzz_<target> FILE.
#
# usage: utils/fuzz.sh [--seconds N] [--results DIR] [target ...]
#   targets: resp entry snapshot config admin_body peerauth peerframe listpack dict zskiplist apply
#   (default: all)
# Exit 0 when no target failed, 1 otherwise, 77 when the targets are not built.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=600
RESULTS=$ROOT/fuzz-results
ALL="resp entry snapshot config admin_body peerauth peerframe listpack dict zskiplist apply"
TARGETS=""

while [[ $# -gt 0 ]]; do
    case $1 in
        --seconds) SECONDS_EACH=$2; shift 2 ;;
        --results) RESULTS=$2; shift 2 ;;
        -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
        *) TARGETS="$TARGETS $1"; shift ;;
    esac
done
TARGETS=${TARGETS:-$ALL}
[[ $SECONDS_EACH =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --seconds needs a number" >&2; exit 2; }

if [[ ! -x $ROOT/tests/fuzz/fuzz_seeds ]]; then
    echo "fuzz.sh: tests/fuzz/fuzz_seeds is not built (make tests/fuzz/fuzz_seeds fuzz-targets)" >&2
    exit 77
fi
mkdir -p "$RESULTS" || exit 1
"$ROOT/tests/fuzz/fuzz_seeds" "$RESULTS/seeds" || exit 1

passed=0
failed=0
for t in $TARGETS; do
    bin=$ROOT/tests/fuzz/fuzz_$t
    if [[ ! -x $bin ]]; then
        echo "fuzz.sh: $t is not built (configure found no clang with -fsanitize=fuzzer?)" >&2
        [[ $passed -eq 0 && $failed -eq 0 && $TARGETS == "$t" ]] && exit 77
        failed=$((failed + 1))
        continue
    fi
    mkdir -p "$RESULTS/corpus/$t" "$RESULTS/artifacts/$t"
    dirs=("$RESULTS/corpus/$t")
    [[ -d $ROOT/tests/fuzz/corpus/$t ]] && dirs+=("$ROOT/tests/fuzz/corpus/$t")
    [[ -d $RESULTS/seeds/$t ]] && dirs+=("$RESULTS/seeds/$t")
    log=$RESULTS/$t.log
    echo "fuzz.sh: $t for ${SECONDS_EACH}s (log $log)"
    "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$RESULTS/artifacts/$t/" "${dirs[@]}" >"$log" 2>&1
    rc=$?
    final=$(grep -aE '^#[0-9]+' "$log" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$final")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$final")
    corp=$(find "$RESULTS/corpus/$t" -type f | wc -l)
    if [[ $rc -eq 0 ]]; then
        echo "fuzz $t: ok, ${execs:-?} executions, cov: ${cov:-?} ft: ${ft:-?}, $corp inputs kept"
        passed=$((passed + 1))
    else
        echo "fuzz $t: FAILED (exit $rc), ${execs:-?} executions; artifacts:" \
            "$(ls "$RESULTS/artifacts/$t" | tr '\n' ' ')"
        grep -aE 'ERROR:|SUMMARY:|invariant failed' "$log" | head -5
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
