#!/bin/sh
# The hot-plug peer without QEMU: barspace compare on excerpts of real
# peer/hotplug runs (Linux 6.1, pciehp) committed under tests/data/peer/hotplug/:
# the churn engine's linux policy must agree with the kernel after every event.
BARSPACE=${BARSPACE:-build/barspace}
D=tests/data/peer/hotplug
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() { # want got what
    if [ "$1" -eq "$2" ]; then ok; else no "$3: exit $2, want $1"; fi
}
expect_grep() { # pattern file what
    if grep -q -- "$1" "$2"; then ok; else no "$3: no '$1' in: $(head -c 800 "$2")"; fi
}

# A 1G BAR into a root port whose SeaBIOS prefetchable window is 2M below
# 4G: Linux releases the window and assigns it again above 4G (it moves; it
# does not grow in place), and keeps the 1G after the device leaves.
"$BARSPACE" compare "$D/sb-slot-move" --topology "$D/sb-slot-move.topo" > "$tmp/o" 2>&1
expect_rc 0 $? "sb-slot-move"
expect_grep '^summary: events=8 agree=8 .* exact=1$' "$tmp/o" "sb-slot-move summary"
expect_grep '^6 .* placed .*bridge window assigned again' "$tmp/o" "sb-slot-move event 6"

# GPUs in and out of four root ports with 4G hot-plug windows: failed adds,
# windows reset after a failure, and a port window that finds no room on
# the root bus releasing every sibling port's prefetchable window -- the
# working GPUs there lose their BARs (events 30, 31).
"$BARSPACE" compare "$D/gpu-hpprefsize" --topology "$D/gpu-hpprefsize.topo" > "$tmp/o" 2>&1
expect_rc 0 $? "gpu-hpprefsize"
expect_grep '^summary: events=32 agree=32 .*guest_failed=4 barspace_failed=4 failures_agree=32 exact=1$' "$tmp/o" "gpu-hpprefsize summary"
expect_grep '^4 .* failed  *failed ' "$tmp/o" "gpu-hpprefsize event 4 fails on both sides"

# A switch's downstream ports under SeaBIOS: a closed port window that finds
# no room in the upstream port's window fails the new device's BAR0, the
# port's mem window (type lost) and the siblings' windows are released, and
# the second try assigns the port's windows largest alignment first
# (event 12); the upstream port's own window stays.
"$BARSPACE" compare "$D/switch-sb" --topology "$D/switch-sb.topo" > "$tmp/o" 2>&1
expect_rc 0 $? "switch-sb"
expect_grep '^summary: events=13 agree=13 .*guest_failed=5 barspace_failed=5 failures_agree=13 exact=1$' "$tmp/o" "switch-sb summary"

# JSON rows.
"$BARSPACE" compare "$D/sb-slot-move" --topology "$D/sb-slot-move.topo" --json > "$tmp/j" 2>&1
expect_rc 0 $? "--json"
expect_grep '"schema": "barspace.compare-hotplug/1"' "$tmp/j" "--json schema"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/j" 2>/dev/null && ok || no "--json is not JSON"

# A disagreement is reported with the resource, and exit 1: the guest's
# window moved elsewhere in event 6's report.
cp -r "$D/sb-slot-move" "$tmp/moved"
sed -i 's/^\(3\|16\):0x0000000100000000 0x000000013fffffff/\1:0x0000000140000000 0x000000017fffffff/' "$tmp/moved/events/006.log"
"$BARSPACE" compare "$tmp/moved" --topology "$D/sb-slot-move.topo" > "$tmp/o" 2>&1
expect_rc 1 $? "a moved window"
expect_grep 'differs: g BAR2: guest 0x140000000-0x17fffffff, barspace 0x100000000-0x13fffffff' "$tmp/o" "a moved window row"
expect_grep 'differs: rp2 pref window: guest 0x140000000-0x17fffffff' "$tmp/o" "a moved window: the window row"

# A run that stopped early: exit 2 naming the missing event.
cp -r "$D/sb-slot-move" "$tmp/short"
rm "$tmp/short/events/005.log"
"$BARSPACE" compare "$tmp/short" --topology "$D/sb-slot-move.topo" > "$tmp/o" 2>&1
expect_rc 2 $? "a missing event report"
expect_grep 'events/005.log' "$tmp/o" "a missing event report names the file"
expect_grep 'stopped before event 5 of 8' "$tmp/o" "a missing event report says which"

# A bad trace line: file, line and what was expected.
cp -r "$D/sb-slot-move" "$tmp/bad"
echo "add x at rp2 bar0=mem64:3K" >> "$tmp/bad/events.trace"
"$BARSPACE" compare "$tmp/bad" --topology "$D/sb-slot-move.topo" > "$tmp/o" 2>&1
expect_rc 2 $? "a bad trace"
expect_grep 'events.trace:9:25: expected a power-of-two size' "$tmp/o" "a bad trace names the line"

# replay through hot-plug: with hotplug.map every access of the trace reaches
# a device (the ones plugged in included), BAR, command, ROM and window
# registers agree, and each device's map/unmap counts equal QEMU's.
all_agree() { # file what
    if awk '/^summary:/ { for (i = 2; i <= NF; i++) { split($i, kv, "=")
                if (kv[1] ~ /^(bar|command|rom|window|devices_counts_agree)$/) {
                    split(kv[2], ab, "/"); if (ab[1] != ab[2]) bad = 1 }
                if (kv[1] == "unrouted" && kv[2] != 0) bad = 1 }
              seen = 1 }
              END { exit !(seen && !bad) }' "$1"; then ok; else no "$2: $(grep summary "$1")"; fi
}
"$BARSPACE" replay "$D/sb-slot-move/trace.log" --topology "$D/sb-slot-move.topo" --host eager > "$tmp/o" 2>&1
all_agree "$tmp/o" "replay through hot-plug"
expect_grep 'qemu_del=[1-9]' "$tmp/o" "replay through hot-plug: unplugs unmap"
# Without the map the plugged-in devices are unknown to the replay.
cp -r "$D/sb-slot-move" "$tmp/nomap"
rm "$tmp/nomap/hotplug.map"
"$BARSPACE" replay "$tmp/nomap/trace.log" --topology "$D/sb-slot-move.topo" --host eager > "$tmp/o" 2>&1
expect_grep 'unrouted=[1-9]' "$tmp/o" "replay without the map"
# A map that does not follow the events: file, line, which event.
cp -r "$D/sb-slot-move" "$tmp/badmap"
sed -i '1s/ a$/ b/' "$tmp/badmap/hotplug.map"
"$BARSPACE" replay "$tmp/badmap/trace.log" --topology "$D/sb-slot-move.topo" --host eager > "$tmp/o" 2>&1
expect_rc 2 $? "replay with a wrong map"
expect_grep 'hotplug.map:1:1: .b. does not follow the event trace (event 1)' "$tmp/o" "replay with a wrong map names the line"

echo "peer_hotplug: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
