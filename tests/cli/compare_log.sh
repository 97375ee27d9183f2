#!/bin/sh
# barspace compare LOG: the kernel's own decisions replayed against the model
# of its kernel.  The peer's captured boots (tests/data/import/peer: real
# Linux 6.1 logs with their command lines in .env) are a labelled set: the
# model must agree on at least 99% of their comparable resources.  Exit
# codes, the summary line and bad input are checked on logs written for the
# purpose.
BARSPACE=${BARSPACE:-build/barspace}
D=tests/data/import
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() { if [ "$1" -eq "$2" ]; then ok; else no "$3: exit $2, want $1"; fi; }
expect_grep() { if grep -q -- "$1" "$2"; then ok; else no "$3: no '$1' in: $(head -c 1500 "$2")"; fi; }
num() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$2"; }

# A translated host bridge: the model reproduces the kernel's layout.
"$BARSPACE" compare "$D/k6-arm64-bus-address.log" >"$tmp/o" 2>&1
expect_rc 0 $? "compare arm64 log"
expect_grep "^summary: kernel=unknown model=linux-7.2 compared=5 agree=5 differ=0" "$tmp/o" "arm64 summary"
expect_grep "newest model" "$tmp/o" "model named and why"
# --kernel picks the nearest model and says so.
"$BARSPACE" compare "$D/k6-arm64-bus-address.log" --kernel 5.4.0-91-generic >"$tmp/o" 2>&1
expect_grep "^summary: kernel=5.4.0-91-generic model=linux-" "$tmp/o" "--kernel"
expect_grep "nearest to the log's" "$tmp/o" "nearest model note"
# A log whose kernel claims a different layout than the model gives: differ,
# exit 1.  (The first BAR is moved by hand.)
sed 's/BAR 0: assigned \[mem 0xe180100000-0xe180103fff\]/BAR 0: assigned [mem 0xe180104000-0xe180107fff]/' \
    "$D/k6-arm64-bus-address.log" >"$tmp/moved.log"
"$BARSPACE" compare "$tmp/moved.log" >"$tmp/o" 2>&1
expect_rc 1 $? "compare of a moved BAR"
expect_grep "differ: placed at another address" "$tmp/o" "differ row"
# An excerpt without root bus resources: nothing comparable, exit 0.
"$BARSPACE" compare "$D/k5-thunderbolt-excerpt.log" >"$tmp/o" 2>&1
expect_rc 0 $? "excerpt"
expect_grep "compared=0 .*not_comparable=[1-9]" "$tmp/o" "excerpt not comparable"
# Bad input: exit 2 with file:line.
"$BARSPACE" compare "$D/bad-resource.log" >"$tmp/o" 2>"$tmp/e"
expect_rc 2 $? "bad log"
expect_grep "bad-resource.log:4:" "$tmp/e" "error position"
"$BARSPACE" compare "$D/k5-sriov.log" --bogus >"$tmp/o" 2>"$tmp/e"
expect_rc 2 $? "unknown option"
expect_grep "barspace compare: unknown option '--bogus'" "$tmp/e" "the one wording"
"$BARSPACE" compare "$D/k5-sriov.log" --kernel >"$tmp/o" 2>"$tmp/e"
expect_rc 2 $? "--kernel without a value"
# --kernel=X.Y is --kernel X.Y.
"$BARSPACE" compare "$D/k5-sriov.log" --kernel=6.1 >"$tmp/o1" 2>&1
"$BARSPACE" compare --kernel 6.1 "$D/k5-sriov.log" >"$tmp/o2" 2>&1
cmp -s "$tmp/o1" "$tmp/o2" && ok || no "--kernel=6.1 differs from --kernel 6.1"
expect_grep "model=linux-6.1" "$tmp/o1" "--kernel chooses the model"

# The labelled set: every peer capture, with its command line.
agree=0
differ=0
n=0
for f in "$D"/peer/*.dmesg; do
    app=$(sed -n 's/^append=//p' "${f%.dmesg}.env")
    "$BARSPACE" compare "$f" --kernel 6.1 --append "$app" >"$tmp/o" 2>&1
    rc=$?
    [ $rc -le 1 ] || no "$f: exit $rc"
    a=$(num agree "$tmp/o")
    d=$(num differ "$tmp/o")
    agree=$((agree + ${a:-0}))
    differ=$((differ + ${d:-0}))
    n=$((n + 1))
done
echo "peer captures: $n logs, $((agree + differ)) resources compared, $agree agree, $differ differ"
if [ $((agree + differ)) -gt 0 ] && [ $((agree * 100)) -ge $(((agree + differ) * 99)) ]; then
    ok
else
    no "peer captures agree on $agree of $((agree + differ)), want >= 99%"
fi
echo "compare_log: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
