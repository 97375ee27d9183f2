#!/bin/sh
# barspace churn / plan: outcomes, summaries, traces, exact errors, exit codes.
BARSPACE=${BARSPACE:-build/barspace}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() { if [ "$1" -eq "$2" ]; then ok; else no "$3: exit $2, want $1"; fi; }
expect_grep() { if grep -q -- "$1" "$2"; then ok; else no "$3: no '$1' in: $(head -c 600 "$2")"; fi; }

# A fragmented window: 64K holes everywhere, a 128K controller needs a move.
cat > "$tmp/w.topo" <<'T'
window mem 0xc0000000+512K
device a {
    bar 0 mem64 64K
}
device b {
    bar 0 mem64 64K
}
device c {
    bar 0 mem64 64K
}
device d {
    bar 0 mem64 64K
}
device e {
    bar 0 mem64 64K
}
device f {
    bar 0 mem64 64K
}
device g pinned {
    bar 0 mem64 64K
}
T
cat > "$tmp/t.trace" <<'T'
# free two 64K holes that are not buddies, then ask for 128K
remove b
remove c
add n at host bar0=mem64:128K
T
"$BARSPACE" churn "$tmp/w.topo" --trace "$tmp/t.trace" > "$tmp/out" 2>&1
rc=$?
expect_rc 0 $rc "churn barspace"
expect_grep "placed after 1 move" "$tmp/out" "a move was planned"
expect_grep "policy barspace: 3 events" "$tmp/out" "summary line"
"$BARSPACE" churn "$tmp/w.topo" --trace "$tmp/t.trace" --policy linux > "$tmp/out" 2>&1
expect_rc 1 $? "churn linux fails"
expect_grep "FAILED" "$tmp/out" "linux reports the failure"
expect_grep "1 of them had a plan with moves" "$tmp/out" "linux failure had a plan"
"$BARSPACE" churn "$tmp/w.topo" --trace "$tmp/t.trace" --json > "$tmp/out" 2>&1
expect_grep '"schema":"barspace.churn/1"' "$tmp/out" "json schema"
expect_grep '"outcome":"moved"' "$tmp/out" "json outcome"

# plan: one hot-add, step by step, checked.  A pinned firmware-fixed
# device in the upper half: a 256K BAR needs both movable devices moved.
cat > "$tmp/p.topo" <<'T'
window mem 0xc0000000+512K
device a {
    bar 0 mem64 128K
}
device b {
    bar 0 mem64 64K
}
device p pinned {
    bar 0 mem32 64K fixed=0xc0070000
}
T
"$BARSPACE" plan "$tmp/p.topo" --add 'n at host bar0=mem64:256K' > "$tmp/out" 2>&1
expect_rc 0 $? "plan"
expect_grep "2 device(s) moved, 192K moved, proven optimal" "$tmp/out" "plan summary"
expect_grep "step check: every state valid" "$tmp/out" "steps checked"
expect_grep "decode off" "$tmp/out" "decode off step"
expect_grep "BAR0 high" "$tmp/out" "64-bit BAR written in halves"
expect_grep "downtime a " "$tmp/out" "per-device downtime"
"$BARSPACE" plan "$tmp/p.topo" --add 'n at host bar0=mem64:512K' > "$tmp/out" 2>&1
expect_rc 1 $? "no plan: pinned p blocks the whole window"
expect_grep "no plan" "$tmp/out" "no plan message"
"$BARSPACE" plan "$tmp/p.topo" --add 'n at host bar0=mem64:256K' --json > "$tmp/out" 2>&1
expect_grep '"valid":true' "$tmp/out" "plan json"
"$BARSPACE" plan "$tmp/p.topo" --add 'n at host bar0=mem64:256K' --policy linux > "$tmp/out" 2>&1
expect_rc 1 $? "linux never moves"

# The README's example as shipped: 32-bit BARs move for a 64-bit one too.
for k in mem32 mem64; do
    "$BARSPACE" plan examples/pinned-plan.topo --add "n at host bar0=$k:256K" > "$tmp/out" 2>&1
    expect_rc 0 $? "pinned-plan $k"
    expect_grep "2 device(s) moved, 192K moved, proven optimal" "$tmp/out" "pinned-plan $k summary"
done

# generated workloads, reproducible through written traces
"$BARSPACE" churn --generate nvme:count=8,window=1M --events 300 --seed 5 \
    --summary --verify --write-trace "$tmp/g.trace" --write-topo "$tmp/g.topo" > "$tmp/a" 2>&1
expect_grep "invariant checker: 0 violation" "$tmp/a" "verify"
"$BARSPACE" churn "$tmp/g.topo" --trace "$tmp/g.trace" --summary > "$tmp/b" 2>&1
if [ "$(grep '^policy' "$tmp/a")" = "$(grep '^policy' "$tmp/b")" ]; then ok; else
    no "trace replay differs: $(grep '^policy' "$tmp/a") vs $(grep '^policy' "$tmp/b")"; fi

# bad input: file:line:col and exit 2
printf 'remove a\nadd x at host bar0=mem64:3K\n' > "$tmp/bad.trace"
"$BARSPACE" churn "$tmp/w.topo" --trace "$tmp/bad.trace" > "$tmp/out" 2>&1
expect_rc 2 $? "bad trace"
expect_grep "bad.trace:2:26: expected a power-of-two size" "$tmp/out" "error position"
printf 'remove zz\n' > "$tmp/bad2.trace"
"$BARSPACE" churn "$tmp/w.topo" --trace "$tmp/bad2.trace" > "$tmp/out" 2>&1
expect_rc 2 $? "unknown device"
expect_grep "bad2.trace:1: no device named 'zz'" "$tmp/out" "unknown device message"
"$BARSPACE" churn --generate frob > "$tmp/out" 2>&1
expect_rc 2 $? "bad spec"
"$BARSPACE" churn --bogus > "$tmp/out" 2>&1
expect_rc 2 $? "bad option"
"$BARSPACE" churn --help > "$tmp/out" 2>&1
expect_rc 0 $? "help"
expect_grep "examples:" "$tmp/out" "help has examples"
"$BARSPACE" plan --help > "$tmp/out" 2>&1
expect_rc 0 $? "plan help"

# Regression (found by fuzz_events): a relocation plan moved a bridge window
# by a multiple of its granule but not of its contents' alignment, leaving
# the 4M BAR below it misaligned.  A moving window must keep its phase.
cat > "$tmp/ph.topo" <<'X'
window io 0x1000-0xffff
window mem 0xc0000000-0xc0ffffff
window mem 0x800000000+4G pref
bridge rp0 hotplug mem=2M pref=64M {
    device a {
        bar 0 mem64 64K
    }
    device b pinned {
        bar 0 mem32 16K
        bar 2 mem64 16M pref
    }
}
bridge rp1 hotplug {
}
device c {
    bar 0 mem32 1M
    bar 1 io 32
}
X
printf 'add x at rp0 bar0=mem64:1M\nadd y at rp0 bar0=mem64:1M\nadd z at rp1 bar0=mem64:4M\nremove x\nadd w at rp0 bar0=mem64:2M\n' > "$tmp/ph.ev"
"$BARSPACE" churn "$tmp/ph.topo" --trace "$tmp/ph.ev" --policy barspace --verify > "$tmp/out" 2>&1
expect_rc 0 $? "window phase kept across a move"
expect_grep "invariant checker: 0 violation" "$tmp/out" "window phase: checker"
expect_grep "placed after 2 moves" "$tmp/out" "window phase: the plan still moves"

echo "cli_churn: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
