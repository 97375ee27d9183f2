#!/bin/sh
# Build and run the libFuzzer targets (fuzz/fuzz_*.c) with clang,
# -fsanitize=fuzzer,address,undefined, in build-fuzz/.
#
#   sh fuzz/run.sh [-s SECONDS] [-b BUDGET] [-r RUNS] [-S SEED] [TARGET...]
#
#   -s SECONDS  run each target this long (default 600)
#   -b BUDGET   cap the total: each target gets min(SECONDS, BUDGET/targets)
#               seconds, so that `make check` stays bounded as targets are
#               added (default: no cap)
#   -r RUNS     stop a target after RUNS inputs, even before its time
#   -S SEED     libFuzzer's random seed (default: a new one per run)
#   TARGET      fuzz_topo, topo, ... (default: every fuzz/fuzz_*.c)
#
# make check runs a fixed seed and a run cap: a target then tries the same
# inputs on every machine up to where its time runs out, so a CI finding
# is reproducible here with the same seed and cannot come and go at random.
#
# A target declares the library symbols it exercises on a line
#   fuzz-needs: SYMBOL ...
# and is skipped (not passed, not failed) while one of them is not in the
# library yet.  Each target runs on its own working corpus
# (build-fuzz/corpus/NAME) seeded from fuzz/corpus/NAME, which it never
# writes; findings go to build-fuzz/crashes/.  The last line is
# "suite: N passed, N failed", one pass per target that ran its time
# without a finding.
set -u
B=${FUZZ_BUILD:-build-fuzz}
secs=600
budget=0
runs_cap=0
seed=0
while [ $# -gt 0 ]; do
    case "$1" in
    -s) secs=$2; shift 2 ;;
    -b) budget=$2; shift 2 ;;
    -r) runs_cap=$2; shift 2 ;;
    -S) seed=$2; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) break ;;
    esac
done

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang is missing; installing Debian's clang"
    if [ "$(id -u)" = 0 ]; then
        (apt-get update && apt-get install -y clang) >"$B-apt.log" 2>&1
    else
        (sudo -n apt-get update && sudo -n apt-get install -y clang) >"$B-apt.log" 2>&1
    fi
    if ! command -v clang >/dev/null 2>&1; then
        tail -n 20 "$B-apt.log"
        echo "fuzz: could not install clang"
        echo "suite: 0 passed, 1 failed"
        exit 1
    fi
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $SAN"
echo "fuzz: building the library with clang in $B"
if ! make --no-print-directory -j"${FUZZ_JOBS:-2}" CC=clang BUILD="$B" OPT="$OPT" \
        "$B/libbarspace.a" >"$B.log" 2>&1; then
    grep -E 'error|Error' "$B.log" | head -n 30
    echo "fuzz: the library does not build with clang (see $B.log)"
    echo "suite: 0 passed, 1 failed"
    exit 1
fi
mkdir -p "$B/fuzz" "$B/crashes" "$B/corpus"

if [ $# -gt 0 ]; then
    targets=
    for t in "$@"; do
        t=${t#fuzz_}
        t=${t%.c}
        targets="$targets fuzz/fuzz_$t.c"
    done
else
    targets=$(ls fuzz/fuzz_*.c)
fi

# Which targets can run: every symbol they need is defined in the library.
syms=$(nm -g --defined-only "$B/libbarspace.a" 2>/dev/null | awk 'NF==3{print $3}')
runnable=
for src in $targets; do
    name=$(basename "$src" .c)
    need=$(sed -n 's/.*fuzz-needs:\(.*\)/\1/p' "$src" | sed 's/\*\///')
    missing=
    for s in $need; do
        echo "$syms" | grep -qx "$s" || missing="$missing $s"
    done
    if [ -n "$missing" ]; then
        echo "fuzz: $name skipped: not in the library yet:$missing"
        continue
    fi
    runnable="$runnable $src"
done
n=$(echo $runnable | wc -w)
if [ "$budget" -gt 0 ] && [ "$n" -gt 0 ] && [ $((budget / n)) -lt "$secs" ]; then
    secs=$((budget / n))
    [ "$secs" -lt 5 ] && secs=5
fi

pass=0
fail=0
for src in $runnable; do
    name=$(basename "$src" .c)
    short=${name#fuzz_}
    bin="$B/fuzz/$name"
    if ! clang $OPT -fsanitize=fuzzer -std=c11 -D_POSIX_C_SOURCE=200809L \
            -Iinclude -Isrc -o "$bin" "$src" "$B/libbarspace.a" -lm \
            >"$bin.build.log" 2>&1; then
        cat "$bin.build.log" | head -n 30
        echo "$name: build failed"
        fail=$((fail + 1))
        continue
    fi
    mkdir -p "$B/corpus/$short" "fuzz/corpus/$short"
    dict=
    [ -f "fuzz/$short.dict" ] && dict="-dict=fuzz/$short.dict"
    maxlen=$(sed -n 's/.*fuzz-max-len: *\([0-9]*\).*/\1/p' "$src")
    log="$B/fuzz/$name.log"
    # -malloc_limit_mb: a parser that allocates far beyond its input size on
    # hostile input is a finding, not a slow run.
    extra=
    [ "$runs_cap" -gt 0 ] && extra="-runs=$runs_cap"
    [ "$seed" -gt 0 ] && extra="$extra -seed=$seed"
    "$bin" -max_total_time="$secs" $extra -timeout=10 -rss_limit_mb=1536 \
        -malloc_limit_mb=512 -max_len="${maxlen:-8192}" -print_final_stats=1 \
        -artifact_prefix="$B/crashes/$short-" $dict \
        "$B/corpus/$short" "fuzz/corpus/$short" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.* cov: \([0-9]*\).* ft: \([0-9]*\).* corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p')
    if [ "$rc" -eq 0 ]; then
        echo "$name: ${secs}s$([ "$seed" -gt 0 ] && echo " seed $seed"), ${runs:-?} runs, ${eps:-?} exec/s, ${cov:-no stats}: ok"
        pass=$((pass + 1))
    else
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written|fuzz check failed' "$log" | head -n 12
        sed -n '/^==[0-9]*==ERROR/,/^SUMMARY/p' "$log" | grep -E '^ +#[0-9]+ ' | head -n 12
        echo "$name: FINDING after ${runs:-?} runs (exit $rc, log $log)"
        fail=$((fail + 1))
    fi
done
echo "suite: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
