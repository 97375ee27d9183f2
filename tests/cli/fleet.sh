#!/bin/sh
# barspace fleet: a small study run whole and as 8 shards merges to the
# identical summary and plot; runs read back; bad input names file:line.
B=${BARSPACE:-build/barspace}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() { if [ "$1" -eq "$2" ]; then ok; else no "$3: exit $2, want $1"; fi; }
expect_grep() { if grep -q -- "$1" "$2"; then ok; else no "$3: no '$1' in: $(head -c 400 "$2")"; fi; }

study="--workload hyperv --workload hyperv:big=100 --gaps 2M,2560K,3M --seeds 5 --seed 7"
$B fleet $study -o "$tmp/all.jsonl" --svg "$tmp/all.svg" >"$tmp/all.txt" 2>"$tmp/err"
expect_rc 0 $? "whole study"
# 2 workloads x 3 gaps x 5 seeds = 30 histories, 3 policies each
n=$(wc -l <"$tmp/all.jsonl")
if [ "$n" -eq 90 ]; then ok; else no "whole study: $n runs, want 90"; fi
expect_grep "90 runs, 90 VM-years" "$tmp/all.txt" "run count"
i=0
while [ $i -lt 8 ]; do
    $B fleet $study --shard $i/8 -o "$tmp/s$i.jsonl" >/dev/null 2>>"$tmp/err"
    expect_rc 0 $? "shard $i/8"
    i=$((i + 1))
done
cat "$tmp"/s*.jsonl | wc -l >"$tmp/n"
expect_grep "^90$" "$tmp/n" "shards together hold every run once"
$B fleet --merge "$tmp"/s*.jsonl --svg "$tmp/merged.svg" >"$tmp/merged.txt"
expect_rc 0 $? "merge"
if cmp -s "$tmp/all.txt" "$tmp/merged.txt"; then ok; else
    no "merged summary differs: $(diff "$tmp/all.txt" "$tmp/merged.txt" | head -5)"; fi
if cmp -s "$tmp/all.svg" "$tmp/merged.svg"; then ok; else no "merged plot differs"; fi
# The merge does not depend on the order of the files or of the lines.
sort -r "$tmp/all.jsonl" >"$tmp/rev.jsonl"
$B fleet --merge "$tmp/rev.jsonl" >"$tmp/rev.txt"
if cmp -s "$tmp/all.txt" "$tmp/rev.txt"; then ok; else no "order changes the summary"; fi
# The whole study's -o reads back into the same summary.
$B fleet --merge "$tmp/all.jsonl" >"$tmp/back.txt"
if cmp -s "$tmp/all.txt" "$tmp/back.txt"; then ok; else no "-o does not read back"; fi
expect_grep "<polyline" "$tmp/all.svg" "plot has lines"
expect_grep "relocate" "$tmp/all.svg" "plot legend"
# A larger gap never makes first fit fail more often on the same seeds in
# this workload (common random numbers); and relocation never does worse
# than first fit.
awk '$2 == "firstfit" && $1 == "hyperv:big=100" { print $6 }' "$tmp/all.txt" >"$tmp/ff"
sort -r -n "$tmp/ff" | cmp -s - "$tmp/ff" && ok || no "firstfit P(fail) not monotone in the gap: $(cat "$tmp/ff")"

# Errors: a shard given twice, a broken line, a bad --shard.
$B fleet --merge "$tmp/s1.jsonl" "$tmp/s1.jsonl" >/dev/null 2>"$tmp/e"
expect_rc 2 $? "same shard twice"
expect_grep "s1.jsonl:1: this run was merged before" "$tmp/e" "duplicate named"
head -n 3 "$tmp/all.jsonl" >"$tmp/bad.jsonl"
echo '{"schema":"barspace.fleet-run/1","workload":"hyperv"}' >>"$tmp/bad.jsonl"
$B fleet --merge "$tmp/bad.jsonl" >/dev/null 2>"$tmp/e"
expect_rc 2 $? "truncated run"
expect_grep "bad.jsonl:4:.*a key is missing" "$tmp/e" "truncated run named"
$B fleet --shard 8/8 >/dev/null 2>"$tmp/e"
expect_rc 2 $? "shard out of range"
$B fleet --workload hyperv:gap=4M --seeds 1 >/dev/null 2>"$tmp/e"
expect_rc 2 $? "gap= in a workload"
expect_grep "without gap=" "$tmp/e" "gap= rejected"
$B fleet --merge "$tmp/none.jsonl" >/dev/null 2>"$tmp/e"
expect_rc 2 $? "missing file"
expect_grep "none.jsonl: cannot open" "$tmp/e" "missing file named"
$B fleet --gaps 2M,,3M --seeds 1 >/dev/null 2>"$tmp/e"
expect_rc 2 $? "empty gap in the list"
expect_grep "expected sizes such as" "$tmp/e" "bad gap named"
$B fleet --merge >/dev/null 2>"$tmp/e"
expect_rc 2 $? "--merge without files"
$B fleet "$tmp/s1.jsonl" >/dev/null 2>"$tmp/e"
expect_rc 2 $? "a file without --merge"
# --workload repeats; --gaps=LIST is --gaps LIST; --merge FILE... may
# come anywhere among the options.
$B fleet --workload hyperv --workload hyperv:big=100 --gaps=2M,3M --seeds 1 \
    >"$tmp/two.txt" 2>"$tmp/e"
expect_rc 0 $? "two workloads"
[ "$(awk '$2 == "firstfit"' "$tmp/two.txt" | wc -l)" -eq 4 ] && ok ||
    no "two workloads: want four firstfit rows (2 workloads x 2 gaps): $(cat "$tmp/two.txt")"
$B fleet --json --merge "$tmp/s0.jsonl" "$tmp/s1.jsonl" >"$tmp/m1" &&
    $B fleet --merge "$tmp/s0.jsonl" --json "$tmp/s1.jsonl" >"$tmp/m2" &&
    cmp -s "$tmp/m1" "$tmp/m2" && ok || no "--merge operands around an option"

echo "fleet: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
