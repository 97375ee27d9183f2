#!/bin/sh
# CLI tests of `barspace assign` and `barspace check`: exit codes, tables,
# failures named with their window and shortfall, assigned round trips,
# violations found, bad input positioned.
B=${BARSPACE:-build/barspace}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() { # rc want what
    if [ "$1" -eq "$2" ]; then ok; else bad "$3: exit $1, expected $2"; fi
}
expect_grep() { # pattern file what
    if grep -q -- "$1" "$2"; then ok; else bad "$3: no '$1' in output"; sed -n 1,20p "$2"; fi
}

# Every example: both policies, the assigned state re-checked from text.
for f in examples/*.topo; do
    for p in linux pack; do
        "$B" assign "$f" --policy "$p" -o "$T/a.topo" >"$T/out" 2>"$T/err"
        rc=$?
        if [ $rc -eq 0 ] || [ $rc -eq 1 ]; then ok; else bad "$f $p: exit $rc"; fi
        if [ -s "$T/err" ]; then bad "$f $p: stderr: $(head -c 200 "$T/err")"; else ok; fi
        "$B" check "$T/a.topo" >"$T/chk"
        expect_rc $? 0 "$f $p: check of the assigned state"
    done
    # pack never fails where linux succeeds on the examples
    "$B" assign "$f" --policy linux >/dev/null; l=$?
    "$B" assign "$f" --policy pack >/dev/null; k=$?
    if [ $l -eq 0 ] && [ $k -ne 0 ]; then bad "$f: pack fails where linux succeeds"; else ok; fi
done

# The seed VM: all assigned, 128G BARs above 4 GiB.
"$B" assign examples/seed-14gpu.topo >"$T/out"
expect_rc $? 0 "seed-14gpu assign"
expect_grep "all resources assigned" "$T/out" "seed-14gpu"
expect_grep "mem64 pref.*128G  0x0" "$T/out" "seed-14gpu 128G BAR row"

# A window too small for Linux: linux exits 1 naming the failure and its
# window; pack assigns everything.
"$B" assign examples/small-window.topo --policy linux-6.1 >"$T/out"
expect_rc $? 1 "small-window linux"
expect_grep "failure(s):" "$T/out" "small-window linux failures"
expect_grep "window root mem" "$T/out" "small-window failure names its window"
"$B" assign examples/small-window.topo --policy pack >"$T/out"
expect_rc $? 0 "small-window pack"

# Two firmware-fixed BARs on the same range: neither policy may leave both
# decoding; the second fails naming the first and its line, the result is
# checker-valid (no "internal error"), exit 1.
cat >"$T/fixed2.topo" <<'X'
window mem 0x80000000-0xafffffff
device a {
    bar 0 mem32 64K fixed=0x80000000
}
device b {
    bar 0 mem32 16K fixed=0x8000c000
}
X
for p in linux pack; do
    "$B" assign "$T/fixed2.topo" --policy $p -o "$T/f2.topo" >"$T/out" 2>"$T/err"
    expect_rc $? 1 "overlapping fixed BARs, $p"
    expect_grep "b BAR0: 16K.*0x8000c000-0x8000ffff overlaps a BAR0, also fixed (line 3)" "$T/out" "overlapping fixed, $p"
    if [ -s "$T/err" ]; then bad "overlapping fixed $p: stderr: $(head -c 200 "$T/err")"; else ok; fi
done

# pack names the shortfall when nothing fits.
cat >"$T/short.topo" <<'X'
window mem 0xc0000000-0xc7ffffff
device a {
    bar 0 mem32 64M
}
device b {
    bar 0 mem32 64M
}
device c {
    bar 0 mem32 64M
}
X
"$B" assign "$T/short.topo" --policy pack >"$T/out"
expect_rc $? 1 "shortfall exit"
expect_grep "short by 64M" "$T/out" "shortfall amount"

# JSON output.
"$B" assign examples/seed-25nvme.topo --json >"$T/out"
expect_rc $? 0 "json exit"
expect_grep '"schema":"barspace.assign/1"' "$T/out" "json schema id"

# check finds an overlap written by hand.
"$B" assign examples/seed-25nvme.topo -o "$T/a.topo" >/dev/null
first=$(grep -m1 -o 'at=0x[0-9a-f]*' "$T/a.topo")
second=$(grep -o 'at=0x[0-9a-f]*' "$T/a.topo" | sed -n 2p)
sed "0,/$second/s//$first/" "$T/a.topo" >"$T/bad.topo"
"$B" check "$T/bad.topo" >"$T/out"
expect_rc $? 1 "check of an overlapping state"
expect_grep "overlap\|outside" "$T/out" "check names the violation"

# Bad input: file, line, column, exit 2.
printf 'window mem 0xc0000000-0xcfffffff\ndevice d {\n    bar 0 mem32 3M\n}\n' >"$T/bad2.topo"
"$B" assign "$T/bad2.topo" 2>"$T/err" >/dev/null
expect_rc $? 2 "bad size exit"
expect_grep "bad2.topo:3:17: size 3M is not a power of two" "$T/err" "bad size position"
"$B" assign examples/seed-14gpu.topo --policy best >/dev/null 2>"$T/err"
expect_rc $? 2 "unknown policy"
expect_grep "unknown policy 'best'" "$T/err" "unknown policy message"
"$B" assign >/dev/null 2>&1
expect_rc $? 2 "missing file"
"$B" assign "$T/nonexistent.topo" 2>"$T/err" >/dev/null
expect_rc $? 2 "unreadable file"
expect_grep "nonexistent.topo" "$T/err" "unreadable file named"
"$B" check --help >"$T/out"
expect_rc $? 0 "check --help"
expect_grep "examples:" "$T/out" "check help has examples"

echo "assign_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
