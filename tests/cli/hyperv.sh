#!/bin/sh
# Hyper-V end to end from the CLI: assign, check, map, churn on the bundled
# example, diagnose of a guest log, and errors that name file:line.
B=${BARSPACE:-build/barspace}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() { if [ "$1" -eq "$2" ]; then ok; else no "$3: exit $2, want $1"; fi; }
expect_grep() { if grep -q -- "$1" "$2"; then ok; else no "$3: no '$1' in: $(head -c 400 "$2")"; fi; }
ex=examples/hyperv-25nvme.topo
tr=examples/hyperv-25nvme.trace

$B assign $ex -o "$tmp/a.topo" >"$tmp/out" 2>&1
expect_rc 0 $? "assign the example"
# first bus: config window right above the 8M framebuffer, 64K high range
expect_grep "^vpci bus0 domain=0x0001 cfg=0xf8800000 win-pref=0xfc0000000-0xfc000ffff {" "$tmp/a.topo" "bus0 placed"
expect_grep "bar 0 mem64 64K at=0xfc0180000" "$tmp/a.topo" "nvme24 at the 25th 64K"
$B check "$tmp/a.topo" >"$tmp/out"
expect_rc 0 $? "assigned example checks"
$B format "$tmp/a.topo" | $B format - >/dev/null 2>&1
$B map $ex >"$tmp/out"
expect_rc 0 $? "map"
expect_grep "root mem1  0xfc0000000-0xfc02fffff  3M" "$tmp/out" "map shows the high gap"

# boot: a vPCI bus stands in for its domain's root bus; its config window
# is VMBus's, never mapped as a BAR; the functions toggle as the guest does.
$B boot $ex --guest linux-prepatch --host eager >"$tmp/out"
expect_rc 0 $? "boot"
expect_grep "^bus0  *00:01.0  *[0-9]*  *0  *0  *0 " "$tmp/out" "bus maps nothing"
expect_grep "^nvme0  *01:00.0  *8  *9  *8 " "$tmp/out" "pre-patch guest toggles per BAR"

# The seed's history: first fit fails twice, relocation places everything.
$B churn $ex --trace $tr --policy linux --summary >"$tmp/out"
expect_rc 1 $? "churn linux"
expect_grep "76 placements: 74 placed, 0 after moves, 0 reduced, 2 failed" "$tmp/out" "linux figures"
$B churn $ex --trace $tr --policy barspace --summary --verify >"$tmp/out"
expect_rc 0 $? "churn barspace"
expect_grep "72 placed, 4 after moves, 0 reduced, 0 failed" "$tmp/out" "relocation figures"
expect_grep "invariant checker: 0 violation" "$tmp/out" "verified"
$B churn $ex --trace $tr --policy linux >"$tmp/out"
expect_grep "Need 0x20000 of high MMIO space" "$tmp/out" "the guest's message"

# plans are config writes: not what moves a vPCI bus (an error, not a crash)
$B plan $ex --add 'x at host bar0=mem64:128K' >/dev/null 2>"$tmp/e"
expect_rc 2 $? "plan on Hyper-V"
expect_grep "no config-write plans on Hyper-V" "$tmp/e" "plan message"

# diagnose a guest log, with and without the VM's gaps
d=tests/data/hyperv
$B diagnose $d/gpu-high-fail.dmesg >"$tmp/out"
expect_rc 1 $? "diagnose failed bus"
expect_grep "domain 51e2 .*FAILED, Need 16M+128K (0x1020000) of high MMIO space" "$tmp/out" "failed bus"
expect_grep "must grow by at least 16M+128K" "$tmp/out" "lower bound"
$B diagnose $d/gpu-high-fail.dmesg $d/vm-12m.topo >"$tmp/out"
expect_grep "high MMIO gap must grow by 20M+128K (0x1420000 bytes)" "$tmp/out" "exact growth"
$B diagnose $d/all-ok.journal >"$tmp/out"
expect_rc 0 $? "diagnose all ok"
expect_grep "domain 0001" "$tmp/out" "collision domain"
$B diagnose $d/gpu-high-fail.dmesg examples/seed-25nvme.topo >/dev/null 2>"$tmp/e"
expect_rc 2 $? "diagnose with a non-Hyper-V topology"
expect_grep "platform hyperv" "$tmp/e" "says what is missing"

# Errors name file:line and exit 2.
printf 'platform hyperv\nwindow mem 0xf8000000-0xfbffffff\nvpci a {\n device d {\n  bar 0 io 16\n }\n}\n' >"$tmp/bad.topo"
$B assign "$tmp/bad.topo" >/dev/null 2>"$tmp/e"
expect_rc 2 $? "io BAR on vpci"
expect_grep "bad.topo:5: device 'd' on vpci bus 'a': Hyper-V passes no I/O BARs through" "$tmp/e" "io BAR message"
printf 'window mem 0xf8000000-0xfbffffff\nvpci a\n' >"$tmp/bad2.topo"
$B format "$tmp/bad2.topo" >/dev/null 2>"$tmp/e"
expect_rc 2 $? "vpci without platform"
expect_grep "bad2.topo:2: vpci bus 'a' needs 'platform hyperv'" "$tmp/e" "platform message"
printf 'add x at bus3 bar0=mem64:64K\n' >"$tmp/bad.trace"
$B churn $ex --trace "$tmp/bad.trace" >/dev/null 2>"$tmp/e"
expect_rc 2 $? "add below a vpci bus"
expect_grep "add it at host" "$tmp/e" "churn message"

echo "hyperv_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
