#!/bin/sh
# Verdicts on inputs a command did not evaluate: check on a file without
# addresses or against another machine, diagnose on a plain .topo and on
# overlapping addresses (the same exit as check), map --after of an
# unrelated machine.
BARSPACE=${BARSPACE:-build/barspace}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() { if [ "$1" -eq "$2" ]; then ok; else no "$3: exit $2, want $1"; fi; }
expect_grep() { if grep -q -- "$1" "$2"; then ok; else no "$3: no '$1' in: $(head -c 600 "$2")"; fi; }
expect_nogrep() { if grep -q -- "$1" "$2"; then no "$3: '$1' in: $(head -c 600 "$2")"; else ok; fi; }

# check: a machine description has nothing to check.
"$BARSPACE" check examples/small-window.topo > "$tmp/out" 2>&1
expect_rc 2 $? "check without addresses"
expect_grep "nothing assigned (13 resources without an address)" "$tmp/out" "check says so"
expect_nogrep "valid" "$tmp/out" "check without addresses is not valid"

# check --before: the same machine only.
"$BARSPACE" assign examples/small-window.topo -o "$tmp/a.topo" > /dev/null
"$BARSPACE" assign examples/switch-nested.topo -o "$tmp/b.topo" > /dev/null
"$BARSPACE" assign examples/small-window.topo --policy pack -o "$tmp/a2.topo" > /dev/null
"$BARSPACE" check "$tmp/a.topo" --before "$tmp/b.topo" > "$tmp/out" 2>&1
expect_rc 2 $? "check --before another machine"
expect_grep "not the same machine" "$tmp/out" "check --before message"
"$BARSPACE" check "$tmp/a2.topo" --before "$tmp/a.topo" > "$tmp/out" 2>&1
expect_rc 0 $? "check --before the same machine"

# diagnose on a plain .topo: assigned by the linux model, then diagnosed.
# A 4M BAR beside a display's 16M framebuffer in a 16M window fails under
# every kernel model.
cat > "$tmp/small.topo" <<'T'
window mem 0xc0000000+16M
device nic {
    bar 0 mem32 4M
}
device vga {
    bar 0 mem32 16M pref
}
T
"$BARSPACE" diagnose "$tmp/small.topo" > "$tmp/out" 2>&1
expect_rc 1 $? "diagnose small.topo (linux fails nic)"
expect_grep "assigned by the linux model" "$tmp/out" "diagnose note"
expect_grep "nic BAR0: needs 4M" "$tmp/out" "diagnose names the failure"
"$BARSPACE" diagnose examples/small-window.topo > "$tmp/out" 2>&1
expect_rc 0 $? "diagnose small-window.topo (the newest model fits it)"
expect_nogrep "unassigned" "$tmp/out" "nothing left unassigned"
"$BARSPACE" diagnose examples/small-window.topo --json > "$tmp/out" 2>&1
expect_grep '"notes":\["the file has no addresses' "$tmp/out" "diagnose json note"

# diagnose agrees with check on overlapping addresses.
cat > "$tmp/ov.topo" <<'T'
window mem 0xc0000000+1M
device a {
    bar 0 mem32 64K at=0xc0000000
}
device b {
    bar 0 mem32 64K at=0xc0000000
}
T
"$BARSPACE" check "$tmp/ov.topo" > /dev/null 2>&1
crc=$?
"$BARSPACE" diagnose "$tmp/ov.topo" > "$tmp/out" 2>&1
expect_rc $crc $? "diagnose exits as check on overlapping at="
expect_rc 1 $crc "check on overlapping at="

# map --after: the same machine only.
"$BARSPACE" map examples/small-window.topo --after examples/switch-nested.topo > "$tmp/out" 2>&1
expect_rc 2 $? "map --after another machine"
expect_grep "not the same machine" "$tmp/out" "map --after message"
expect_nogrep "moves" "$tmp/out" "no moves drawn"
"$BARSPACE" assign examples/switch-nested.topo --policy pack -o "$tmp/c.topo" > /dev/null
"$BARSPACE" map examples/switch-nested.topo --after "$tmp/c.topo" > "$tmp/out" 2>&1
expect_rc 0 $? "map --after the same machine"

# replay: no trace lines is bad input; the verdict covers the registers the
# emulation models (identity and capability reads are reported, not judged).
T=tests/data/peer/sb-base.topo
"$BARSPACE" replay /dev/null --topology $T > "$tmp/out" 2>&1
expect_rc 2 $? "replay /dev/null"
expect_grep "/dev/null: no QEMU PCI trace lines" "$tmp/out" "replay names the file"
printf 'random\001\377 bytes\nno trace here\n' > "$tmp/rnd"
"$BARSPACE" replay "$tmp/rnd" --topology $T > "$tmp/out" 2>&1
expect_rc 2 $? "replay of bytes without trace lines"
"$BARSPACE" replay tests/data/peer/sb-base.trace --topology $T > "$tmp/out" 2>&1
expect_rc 0 $? "replay: identity reads differ, modelled ones agree"
expect_grep "identity .*not modelled" "$tmp/out" "identity reported as not modelled"
expect_grep "modelled registers: 177 of 177 reads agree" "$tmp/out" "modelled verdict"
"$BARSPACE" replay tests/data/peer/sb-base.trace --topology $T --json > "$tmp/out" 2>&1
expect_grep '"modelled": \[177, 177\], "not_modelled": \["identity", "other"\]' "$tmp/out" "replay json"
sed '144s/-> 0x8$/-> 0x10000008/' tests/data/peer/sb-base.trace > "$tmp/bad.trace"
"$BARSPACE" replay "$tmp/bad.trace" --topology $T > "$tmp/out" 2>&1
expect_rc 1 $? "replay: a BAR read differs"
expect_grep "^first disagreement: .*bad.trace:144: .*BAR0" "$tmp/out" "first modelled disagreement"

# Per-bridge reserves: linux says it ignores them, pack honours them.
"$BARSPACE" assign examples/switch-nested.topo > "$tmp/out" 2>&1
expect_grep "^note: policy linux ignores the per-bridge hot-plug reserves of 1 bridge(s) (first: dsp2)" \
    "$tmp/out" "linux notes ignored reserves"
"$BARSPACE" assign examples/switch-nested.topo --json > "$tmp/out" 2>&1
expect_grep '"ignored_reserves":\["dsp2"\]' "$tmp/out" "linux json ignored_reserves"
"$BARSPACE" assign examples/switch-nested.topo --policy pack > "$tmp/out" 2>&1
expect_nogrep "ignores" "$tmp/out" "pack has no note"
expect_grep "dsp2 .*pref window.*256M" "$tmp/out" "pack gives dsp2 its 256M pref reserve"
"$BARSPACE" assign examples/switch-nested.topo --policy pack --json > "$tmp/out" 2>&1
expect_grep '"ignored_reserves":\[\]' "$tmp/out" "pack json ignored_reserves"

echo "verdicts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
