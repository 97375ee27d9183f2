#!/bin/sh
# barspace map: text map width, SVG/HTML/JSON outputs, before/after, exit
# codes and bad input.  Needs $BARSPACE.
B=${BARSPACE:-build/barspace}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
maxcol() { awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$1"; }

seed=examples/seed-14gpu.topo

# Text map: exit 0, fits 100 columns, names every GPU, one panel per window.
"$B" map $seed >"$tmp/t.txt" 2>"$tmp/err"
check "[ $? -eq 0 ]" "map seed exits 0"
check "[ $(maxcol "$tmp/t.txt") -le 100 ]" "text map wider than 100 columns"
n=0
for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13; do
    grep -q " gpu$i\b" "$tmp/t.txt" && n=$((n + 1))
done
check "[ $n -eq 14 ]" "text legend names all 14 GPUs ($n)"
check "[ $(grep -c '^root ' "$tmp/t.txt") -eq 3 ]" "three root window panels"
check "grep -q 'largest free aligned block' '$tmp/t.txt'" "largest block line"
check "[ ! -s '$tmp/err' ]" "nothing on stderr"

"$B" map $seed --width 64 --list >"$tmp/t64.txt"
check "[ $(maxcol "$tmp/t64.txt") -le 64 ]" "--width 64 respected"
# --list gives one address line per BAR: 14 GPUs x 3 BARs.
check "[ $(grep -c ' gpu[0-9]* BAR[0-9] (' "$tmp/t64.txt") -eq 42 ]" "--list lists every BAR"

# SVG: well-formed enough for a browser (checked in chromium.sh), every
# device and every BAR present.
"$B" map $seed --svg "$tmp/s.svg" >"$tmp/out"
check "[ $? -eq 0 ]" "map --svg exits 0"
check "grep -q '^wrote ' '$tmp/out'" "--svg says what it wrote"
check "head -c 5 '$tmp/s.svg' | grep -q '<?xml'" "SVG prolog"
check "tail -n 1 '$tmp/s.svg' | grep -q '</svg>'" "SVG closed"
check "[ $(grep -o 'class=\"bar-extent\" data-device=\"gpu[0-9]*\"' "$tmp/s.svg" | sort -u | wc -l) -eq 14 ]" "SVG has a BAR of every GPU"
check "[ $(grep -o 'class=\"bar-extent\"' "$tmp/s.svg" | wc -l) -eq 42 ]" "SVG draws all 42 BARs"
check "[ $(grep -o 'class=\"bridge-window\" data-device=\"rp[0-9]*\"' "$tmp/s.svg" | sort -u | wc -l) -eq 14 ]" "SVG draws every root port's windows"
check "[ $(grep -o '<g' "$tmp/s.svg" | wc -l) -eq $(grep -o '</g>' "$tmp/s.svg" | wc -l) ]" "SVG groups balanced"

# HTML: self-contained.
"$B" map $seed --html "$tmp/m.html" >/dev/null
check "[ $? -eq 0 ]" "map --html exits 0"
check "grep -q '<!DOCTYPE html>' '$tmp/m.html'" "HTML doctype"
check "grep -q 'Content-Security-Policy' '$tmp/m.html'" "HTML forbids fetches"
check "! grep -Eq '<script|src=\"|href=\"http' '$tmp/m.html'" "HTML has no external resource"

# JSON: the extents tile every window (sum of extent sizes = window size).
"$B" map $seed --json >"$tmp/m.json"
check "[ $? -eq 0 ]" "map --json exits 0"
check "python3 -c '
import json,sys
m = json.load(open(sys.argv[1]))
for w in m[\"windows\"]:
    assert sum(e[\"size\"] for e in w[\"extents\"]) == w[\"size\"], w[\"name\"]
    pos = w[\"base\"]
    for e in w[\"extents\"]:
        assert e[\"start\"] == pos; pos = e[\"end\"] + 1
assert len([w for w in m[\"windows\"] if w[\"parent\"] is None]) == 3
' '$tmp/m.json'" "JSON extents tile every window"

# The same picture whether the policy runs now or the file carries its
# addresses (`assign -o` records them with at= and win-*=).
"$B" assign $seed -o "$tmp/a.topo" >/dev/null
check "grep -q 'at=' '$tmp/a.topo'" "assign -o records the addresses"
"$B" map "$tmp/a.topo" --json >"$tmp/a.json"
check "python3 -c '
import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a[\"windows\"] == b[\"windows\"]
' '$tmp/a.json' '$tmp/m.json'" "map of an assigned file = map after assigning"

# Failures: Linux 6.1 cannot place rp1's window of small-window (the VGA at
# slot 1 comes first in devfn order); pack can
# (and so can 7.2, whose bridge windows are no bigger than their contents).
"$B" map examples/small-window.topo --policy linux-6.1 >"$tmp/f.txt"
check "[ $? -eq 1 ]" "map exits 1 when something is not assigned"
check "grep -q 'rp1 mem window 16M, short by 8M' '$tmp/f.txt'" "failure listed"
"$B" map examples/small-window.topo --policy pack >/dev/null
check "[ $? -eq 0 ]" "pack places everything"

# Before/after a plan: the hot-added device appears, the SVG has both maps.
"$B" map examples/seed-25nvme.topo --add 'nvme25 at host bar0=mem64:128K' \
    --json >"$tmp/d.json"
check "[ $? -eq 0 ]" "map --add exits 0"
check "python3 -c '
import json,sys
d = json.load(open(sys.argv[1]))
assert d[\"schema\"] == \"barspace.mapdiff/1\"
new = [m for m in d[\"moves\"] if m[\"device\"] == \"nvme25\"]
assert len(new) == 1 and \"to\" in new[0] and \"from\" not in new[0]
assert not any(e.get(\"device\") == \"nvme25\" for w in d[\"before\"][\"windows\"] for e in w[\"extents\"])
assert any(e.get(\"device\") == \"nvme25\" for w in d[\"after\"][\"windows\"] for e in w[\"extents\"])
' '$tmp/d.json'" "mapdiff: nvme25 only after, listed as new"
"$B" map examples/seed-25nvme.topo --add 'nvme25 at host bar0=mem64:128K' \
    --svg "$tmp/d.svg" >/dev/null
check "[ $(grep -c 'class=\"panel\"' "$tmp/d.svg") -ge 6 ]" "before and after panels"
check "grep -q 'data-device=\"nvme25\"' '$tmp/d.svg'" "new device drawn"

# Bad input: exit 2 with a message, never a crash.
for args in "" "--svg" "$seed --policy fast" "$seed --svg a.svg --html b.html" \
    "$seed --bogus" "$seed $seed" "$seed --width 0" "/nonexistent.topo" \
    "$seed --svg /nonexistent/dir/x.svg" "- --after $seed" \
    "$seed --add 'x at nowhere bar0=mem32:4K'" "$seed --add nonsense" \
    "$seed --after /nonexistent.topo"; do
    eval "\"$B\" map $args" >/dev/null 2>"$tmp/err"
    rc=$?
    check "[ $rc -eq 2 ]" "map $args: exit $rc, expected 2"
    check "[ -s '$tmp/err' ]" "map $args: no error message"
done
printf 'topology bad\nwindow mem 0x1000-0x0fff\n' >"$tmp/bad.topo"
"$B" map "$tmp/bad.topo" >/dev/null 2>"$tmp/err"
check "[ $? -eq 2 ]" "bad topology: exit 2"
check "grep -q 'bad.topo:2' '$tmp/err'" "bad topology: error names file:line"

"$B" map --help >"$tmp/h"
check "[ $? -eq 0 ] && grep -q 'examples:' '$tmp/h'" "--help with examples"

echo "map: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
