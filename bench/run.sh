#!/bin/sh
# Run the bench binaries of one build directory, print their tables and
# rewrite bench/RESULTS.md (date, machine, CPU, tables) in the same format
# every time.  Usage: sh bench/run.sh BUILD_DIR   (or: make BUILD=dir bench)
#
# Each bench binary prints a Markdown section ("### name: ..." + table) on
# stdout and exits 0.  Add one `run` line for yours below; a binary without
# a line still runs (after the listed ones), so nothing is skipped.
set -u
BUILD=${1:?usage: sh bench/run.sh BUILD_DIR}
here=$(dirname "$0")
results="$here/RESULTS.md"
body=$(mktemp) || exit 2
trap 'rm -f "$body" "$body.new"' EXIT INT TERM
status=0
ran=" "

run() {
    bin="$BUILD/bench/$1"
    ran="$ran$1 "
    if [ ! -x "$bin" ]; then
        echo "bench/run.sh: $bin is not built" >&2
        status=1
        return
    fi
    if ! "$bin" >"$body.new"; then
        echo "bench/run.sh: $1 failed" >&2
        status=1
    fi
    cat "$body.new"
    echo
    { cat "$body.new"; echo; } >>"$body"
}

# --- one line per bench binary ---
run bench_alloc     # bs_space vs kernel-style list vs buddy (docs/allocator.md)
run bench_assign    # linux and pack at 10 to 100,000 BARs (docs/assignment.md)
run bench_boot      # the seed VM per guest model and host policy (docs/boot-cost.md)
run bench_churn     # 100k churn events per workload, planner scale and quality (docs/churn.md)

# --- any bench binary not listed above ---
for b in "$BUILD"/bench/bench_*; do
    [ -x "$b" ] || continue
    case "$b" in *.o|*.d) continue ;; esac
    name=$(basename "$b")
    case "$ran" in *" $name "*) continue ;; esac
    run "$name"
done

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
{
    echo "# Benchmark results"
    echo
    echo "Written by \`sh bench/run.sh BUILD_DIR\` (\`make BUILD=dir bench\`);"
    echo "do not edit by hand."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(uname -m)"
    echo "- cpu: ${cpu:-unknown}"
    echo
    cat "$body"
} >"$results"
exit $status
