#!/bin/sh
# barspace import / diagnose: outputs, exit codes, errors naming file:line,
# the written topology parses back, remedies are verified.
BARSPACE=${BARSPACE:-build/barspace}
D=tests/data/import
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
    if grep -q -- "$1" "$2"; then ok; else no "$3: no '$1' in: $(head -c 2000 "$2")"; fi
}

# import -o writes a topology that `format` reads back.
"$BARSPACE" import "$D/k5-timestamps.log" -o "$tmp/m.topo" >"$tmp/out" 2>&1
expect_rc 0 $? "import -o"
expect_grep "imported 4 function(s), 1 bridge(s), 4 root window(s)" "$tmp/out" "import summary"
expect_grep "pci-0000:01:00.0" "$tmp/m.topo" "topology names the GPU"
"$BARSPACE" format "$tmp/m.topo" >"$tmp/f.topo" 2>"$tmp/err"
expect_rc 0 $? "format of the imported topology"
"$BARSPACE" assign "$tmp/m.topo" >"$tmp/a" 2>&1
expect_rc 0 $? "assign of the imported topology"
# The kernel's own assignment travels as at= / win-*= and passes the checker.
expect_grep "win-pref=0x800000000-0x80fffffff" "$tmp/m.topo" "final window written"
expect_grep "rom 256K at=0xfe100000" "$tmp/m.topo" "kernel-assigned ROM written"
"$BARSPACE" check "$tmp/m.topo" >"$tmp/o" 2>&1
expect_rc 0 $? "check of the imported assignment"
for f in "$D"/peer/*.dmesg; do
    "$BARSPACE" import "$f" -o "$tmp/p.topo" >/dev/null 2>&1 &&
        "$BARSPACE" check "$tmp/p.topo" >"$tmp/o" 2>&1
    expect_rc 0 $? "import + check $f"
done
"$BARSPACE" import "$D/k5-timestamps.log" --machine-only >"$tmp/mo" 2>/dev/null
expect_rc 0 $? "import --machine-only"
if grep -q "at=\|win-" "$tmp/mo"; then no "--machine-only wrote addresses"; else ok; fi

# Without -o the topology goes to stdout; stdin works.
"$BARSPACE" import - <"$D/k5-journalctl.log" >"$tmp/s.topo" 2>"$tmp/err"
expect_rc 0 $? "import from stdin"
if cmp -s "$tmp/s.topo" "$tmp/m.topo"; then no "stdin import names the topology after the file"; else ok; fi
grep -v '^topology' "$tmp/s.topo" >"$tmp/s2"; grep -v '^topology' "$tmp/m.topo" >"$tmp/m2"
if cmp -s "$tmp/s2" "$tmp/m2"; then ok; else no "journalctl and dmesg give different topologies"; fi

# JSON summary.
"$BARSPACE" import "$D/k3-old-forms.log" --json >"$tmp/j" 2>&1
expect_rc 0 $? "import --json"
expect_grep '"schema":"barspace.import/1"' "$tmp/j" "import json schema"
expect_grep '"kernel_failures":3' "$tmp/j" "import json failures"

# Bad input: file:line:col and exit 2; a log without PCI: exit 2.
"$BARSPACE" import "$D/bad-resource.log" >"$tmp/o" 2>"$tmp/e"
expect_rc 2 $? "bad resource"
expect_grep "bad-resource.log:4:44:" "$tmp/e" "error position"
"$BARSPACE" import "$D/no-pci.log" >"$tmp/o" 2>"$tmp/e"
expect_rc 2 $? "no PCI enumeration"
expect_grep "no PCI enumeration" "$tmp/e" "no-pci message"
"$BARSPACE" import "$tmp/does-not-exist" >"$tmp/o" 2>"$tmp/e"
expect_rc 2 $? "missing file"
"$BARSPACE" import --format nope "$D/k5-timestamps.log" >"$tmp/o" 2>"$tmp/e"
expect_rc 2 $? "unknown format"
"$BARSPACE" import --help >"$tmp/o" 2>&1
expect_rc 0 $? "import --help"
expect_grep "examples:" "$tmp/o" "import help examples"

# diagnose: a clean boot exits 0, a failing one 1 with its remedies.
"$BARSPACE" diagnose "$D/peer/none-base.dmesg" >"$tmp/o" 2>&1
expect_rc 0 $? "diagnose clean boot"
expect_grep "passes the checker (0 violation(s))" "$tmp/o" "clean boot checked"
"$BARSPACE" diagnose "$D/peer/none-64bit-fail.dmesg" >"$tmp/o" 2>&1
expect_rc 1 $? "diagnose failing boot"
expect_grep "failed: 2" "$tmp/o" "failures counted"
expect_grep "pci-0000:02:00.0 BAR2" "$tmp/o" "failed BAR named"
expect_grep "pci-hole64-size=" "$tmp/o" "QEMU remedy"
expect_grep "X-PciMmio64Mb" "$tmp/o" "OVMF remedy"
expect_grep "moving working devices fixes it: *no" "$tmp/o" "move plan verdict"
"$BARSPACE" diagnose "$D/peer/none-64bit-fail.dmesg" --metal >"$tmp/o" 2>&1
expect_grep "Above 4G Decoding" "$tmp/o" "bare-metal wording"
"$BARSPACE" diagnose "$D/peer/none-64bit-fail.dmesg" --json >"$tmp/j" 2>&1
expect_rc 1 $? "diagnose --json exit"
expect_grep '"schema":"barspace.diagnose/1"' "$tmp/j" "diagnose json schema"
expect_grep '"kind":"window64"' "$tmp/j" "json remedy kind"
# Several inputs of one machine merge.
"$BARSPACE" diagnose "$D/peer/none-base.dmesg" "$D/peer/none-base.iomem" \
    "$D/peer/none-base.sysfs.tar" >"$tmp/o" 2>&1
expect_rc 0 $? "diagnose merged inputs"
# A .topo file diagnoses too.
"$BARSPACE" diagnose "$tmp/m.topo" >"$tmp/o" 2>&1
expect_rc 0 $? "diagnose a topology file"
"$BARSPACE" diagnose "$D/no-pci.log" >"$tmp/o" 2>"$tmp/e"
expect_rc 2 $? "diagnose bad input"
"$BARSPACE" diagnose --help >"$tmp/o" 2>&1
expect_rc 0 $? "diagnose --help"

# The real-machine logs beside the clone, when present.
if [ -d ../shared/realdata ]; then
    for f in $(find ../shared/realdata -type f ! -name 'README*' | sort); do
        want=0
        grep -qE "no space for|can't assign|failed to assign" "$f" && want=1
        "$BARSPACE" diagnose "$f" >"$tmp/o" 2>&1
        expect_rc $want $? "diagnose $f (exit 1 when the log reports failures)"
    done
else
    echo "note: ../shared/realdata not found; real-machine logs skipped"
fi

LIMTMP=$(mktemp -d)
# Limits are reported as limits, with what crossed them.
awk 'BEGIN { for (b = 0; b < 80; b++)
    printf "[    0.1] pci 0000:%02x:00.0: [8086:1234] type 01 class 0x060400\n", b
  for (b = 0; b < 80; b++)
    printf "[    0.2] pci 0000:%02x:00.0: PCI bridge to [bus %02x-50]\n", b, b + 1 }' \
    > "$LIMTMP/deep.log"
"$BARSPACE" import "$LIMTMP/deep.log" > /dev/null 2> "$LIMTMP/err"
expect_rc 2 $? "80-deep bridge chain"
expect_grep "bridges nested deeper than 64 levels" "$LIMTMP/err" "depth limit named"
awk 'BEGIN { n = 0; for (d = 0; d < 2; d++) for (b = 0; b < 256; b++)
    for (v = 0; v < 32; v++) for (f = 0; f < 8; f++) if (n++ < 65600)
    printf "[    0.1] pci %04x:%02x:%02x.%d: [8086:1234] type 00 class 0x010802\n", d, b, v, f }' \
    > "$LIMTMP/many.log"
"$BARSPACE" import "$LIMTMP/many.log" > /dev/null 2> "$LIMTMP/err"
expect_rc 2 $? "65,600 functions"
expect_grep "many.log:65537: more than 65536 PCI functions: the import limit" "$LIMTMP/err" "function cap named"
rm -rf "$LIMTMP"

echo "import.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
