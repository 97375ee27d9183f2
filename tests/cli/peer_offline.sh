#!/bin/sh
# The real peer without QEMU: qemu-args, replay and compare on excerpts of
# real boots committed under tests/data/peer/ (docs/peer.md).
BARSPACE=${BARSPACE:-build/barspace}
D=tests/data/peer
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
    if grep -q -- "$1" "$2"; then ok; else no "$3: no '$1' in: $(head -c 600 "$2")"; fi
}

# qemu-args: one argument per line, the typed name with a dash.
"$BARSPACE" qemu-args "$D/sb-base.topo" > "$tmp/a" 2>&1
expect_rc 0 $? "qemu-args"
expect_grep '^-nodefaults$' "$tmp/a" "qemu-args"
expect_grep '^nvme,id=n5,bus=n4,addr=0x0,serial=n5,cmb_size_mb=64$' "$tmp/a" "qemu-args nvme"
expect_grep '^pcie-root-port,id=n4,bus=pcie.0,addr=0x3,chassis=1,slot=0,hotplug=on$' "$tmp/a" "qemu-args port"
"$BARSPACE" qemu-args "$D/sb-base.topo" --json > "$tmp/j" 2>&1
expect_rc 0 $? "qemu-args --json"
expect_grep '"args": \["-machine", "q35"' "$tmp/j" "qemu-args --json"
"$BARSPACE" qemu-args --help > "$tmp/h" 2>&1
expect_rc 0 $? "qemu-args --help"
expect_grep 'examples' "$tmp/h" "qemu-args --help"

# Refused with the file and line.
sed 's/    bar 0 mem64 16K/    bar 0 mem64 16K fixed=0xfe800000/' "$D/sb-base.topo" > "$tmp/fixed.topo"
"$BARSPACE" qemu-args "$tmp/fixed.topo" > "$tmp/e" 2>&1
expect_rc 2 $? "qemu-args fixed="
line=$(grep -n 'fixed=' "$tmp/fixed.topo" | cut -d: -f1)
expect_grep "fixed.topo:$line: .*fixed" "$tmp/e" "qemu-args fixed= message"
awk '/^device smb /{skip=1} !skip{print} skip&&/^}/{skip=0}' "$D/sb-base.topo" > "$tmp/nosmb.topo"
"$BARSPACE" qemu-args "$tmp/nosmb.topo" > "$tmp/e" 2>&1
expect_rc 2 $? "qemu-args without smbus"
expect_grep 'always has its smbus at 00:1f.3' "$tmp/e" "qemu-args without smbus message"
"$BARSPACE" qemu-args > "$tmp/e" 2>&1
expect_rc 2 $? "qemu-args without FILE"

# replay: BAR/command/ROM reads agree, eager = QEMU's add/del per device.
"$BARSPACE" replay "$D/sb-base.trace" --topology "$D/sb-base.topo" --devices > "$tmp/r" 2>&1
rc=$?
[ "$rc" -le 1 ] && ok || no "replay exit $rc"
expect_grep '^summary: host=eager ' "$tmp/r" "replay summary"
bar=$(sed -n 's/.* bar=\([0-9]*\)\/\([0-9]*\) .*/\1 \2/p' "$tmp/r")
set -- $bar
[ -n "$1" ] && [ "$1" = "$2" ] && [ "$1" -gt 0 ] && ok || no "replay BAR reads: $bar"
counts=$(sed -n 's/.* devices_counts_agree=\([0-9]*\)\/\([0-9]*\) .*/\1 \2/p' "$tmp/r")
set -- $counts
[ -n "$1" ] && [ "$1" = "$2" ] && ok || no "replay eager counts: $counts"
"$BARSPACE" replay "$D/sb-base.trace" --topology "$D/sb-base.topo" --host deferred > "$tmp/d" 2>&1
expect_grep '^summary: host=deferred ' "$tmp/d" "replay deferred"
m_e=$(sed -n 's/.* map=\([0-9]*\) .*/\1/p' "$tmp/r")
m_d=$(sed -n 's/.* map=\([0-9]*\) .*/\1/p' "$tmp/d")
[ -n "$m_d" ] && [ "$m_d" -lt "$m_e" ] && ok || no "deferred maps $m_d not below eager $m_e"
"$BARSPACE" replay "$D/sb-base.trace" --topology "$D/sb-base.topo" --json > "$tmp/rj" 2>&1
expect_grep '"schema": "barspace.replay/1"' "$tmp/rj" "replay --json"
"$BARSPACE" replay "$D/sb-base.trace" --topology "$D/sb-base.topo" --host lazy > "$tmp/e" 2>&1
expect_rc 2 $? "replay --host lazy"
printf 'pci_cfg_read nvme 01:00.0 @0x10 => 0x4\n' > "$tmp/bad.trace"
"$BARSPACE" replay "$tmp/bad.trace" --topology "$D/sb-base.topo" > "$tmp/e" 2>&1
expect_rc 2 $? "replay malformed trace"
expect_grep 'bad.trace:1:' "$tmp/e" "replay malformed trace message"

# compare: the real kernel's final assignment vs the linux policy.
for fw in none sb; do
    "$BARSPACE" compare "$D/$fw-base.out" --topology "$D/$fw-base.topo" > "$tmp/c" 2>&1
    expect_rc 0 $? "compare $fw-base"
    expect_grep 'exact=1' "$tmp/c" "compare $fw-base summary"
done
# A kernel argument changes the model: with a 64M hot-plug reserve the
# policy's root-port window no longer matches what this guest did.
"$BARSPACE" compare "$D/none-base.out" --topology "$D/none-base.topo" --append "pci=hpmmiosize=64M" > "$tmp/c" 2>&1
expect_rc 1 $? "compare with a different kernel command line"
expect_grep 'rp1 .*mem window.* NO' "$tmp/c" "compare shows the window"
"$BARSPACE" compare "$tmp" --topology "$D/none-base.topo" > "$tmp/e" 2>&1
expect_rc 2 $? "compare without console.log"

# compare picks the model of the guest's kernel: one captured boot of the
# same topology per kernel (qboot, nested switches, where 7.2 sizes the
# windows tighter than 6.1 and 6.12).  k72's run.env has a kernel= line;
# k61's is as peer/run wrote it before there were several kernels (the
# package inside params= only, no Linux version line in the console);
# k612's has no kernel at all: the console's Linux version line decides.
for k in k72:linux-7.2 k61:linux-6.1 k612:linux-6.12; do
    out=${k%%:*}; pol=${k#*:}
    "$BARSPACE" compare "$D/$out-switch-nested.out" --topology "$D/switch-nested.topo" > "$tmp/c" 2>&1
    expect_rc 0 $? "compare $out"
    expect_grep "policy=$pol .*exact=1" "$tmp/c" "compare $out uses $pol and agrees"
done
"$BARSPACE" compare "$D/k72-switch-nested.out" --topology "$D/switch-nested.topo" --policy linux-6.1 > "$tmp/c" 2>&1
expect_rc 1 $? "compare 7.2's boot with the 6.1 model"
expect_grep 'sw1 .*pref window.* NO' "$tmp/c" "6.1 model's switch window differs from 7.2's"
"$BARSPACE" compare "$D/k61-switch-nested.out" --topology "$D/switch-nested.topo" --policy linux-7.2 > "$tmp/c" 2>&1
expect_rc 1 $? "compare 6.1's boot with the 7.2 model"
"$BARSPACE" compare "$D/k61-switch-nested.out" --topology "$D/switch-nested.topo" --policy linux-9.9 > "$tmp/c" 2>&1
expect_rc 2 $? "compare with an unknown model"
expect_grep 'linux-6.12' "$tmp/c" "unknown model lists the known ones"
# generate: the same seed gives the same file, qemu-args takes it, and it
# carries the peer/run directive; bad options exit 2.
"$BARSPACE" generate --seed 12 -o "$tmp/g1.topo" > "$tmp/o" 2>&1
expect_rc 0 $? "generate -o"
"$BARSPACE" generate --seed 12 > "$tmp/g2.topo" 2>&1
if cmp -s "$tmp/g1.topo" "$tmp/g2.topo"; then ok; else no "generate: seed 12 twice differs"; fi
"$BARSPACE" generate --seed 13 > "$tmp/g3.topo" 2>&1
if cmp -s "$tmp/g1.topo" "$tmp/g3.topo"; then no "generate: seeds 12 and 13 alike"; else ok; fi
expect_grep '^# peer: firmware=[a-z]* append="' "$tmp/g1.topo" "generate directive"
"$BARSPACE" qemu-args "$tmp/g1.topo" > "$tmp/ga" 2>&1
expect_rc 0 $? "qemu-args on a generated topology"
"$BARSPACE" generate --seed 3 --firmware none --devices 2 --max-bar 1M > "$tmp/g4.topo" 2>&1
expect_rc 0 $? "generate with knobs"
expect_grep '^# peer: firmware=none ' "$tmp/g4.topo" "generate --firmware none"
"$BARSPACE" generate > "$tmp/e" 2>&1
expect_rc 2 $? "generate without --seed"
"$BARSPACE" generate --seed 1 --max-bar 3M > "$tmp/e" 2>&1
expect_rc 2 $? "generate --max-bar 3M"
"$BARSPACE" generate --seed 1 --firmware uefi > "$tmp/e" 2>&1
expect_rc 2 $? "generate --firmware uefi"
expect_grep 'any|none|seabios|ovmf' "$tmp/e" "generate --firmware message"

echo "peer_offline: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
