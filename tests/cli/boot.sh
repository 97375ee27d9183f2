#!/bin/sh
# barspace boot: the seed's figures from the model, policies, JSON, errors.
BARSPACE=${BARSPACE:-build/barspace}
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
    if grep -q -- "$1" "$2"; then ok; else no "$3: no '$1' in: $(cat "$2")"; fi
}
# total seconds ("this boot: X s") of a text run
secs() { sed -n 's/^this boot: \([0-9.]*\) s.*/\1/p' "$1"; }
toggle_secs() { sed -n 's/.*of which decode toggles \([0-9.]*\) s$/\1/p' "$1"; }
ideal() { sed -n 's/^ideal (one map per BAR, no toggles): [0-9]* maps, \([0-9.]*\) s$/\1/p' "$1"; }

SEED=examples/seed-14gpu.topo
for g in linux-prepatch linux-patched linux-6.13; do
    for h in eager deferred; do
        "$BARSPACE" boot $SEED --guest $g --host $h >"$tmp/$g.$h" 2>&1
        expect_rc 0 $? "boot $g $h"
    done
done

# Pre-patch, eager: 8 flips per GPU, about 14 x 8 x 1.8 = 201.6 s of toggles.
expect_grep '^gpu0 .* 8 ' "$tmp/linux-prepatch.eager" "8 toggles on gpu0"
n8=$(grep -c '^gpu[0-9]* .*:00\.0 *8 ' "$tmp/linux-prepatch.eager")
[ "$n8" -eq 14 ] && ok || no "14 GPUs with 8 toggles, got $n8"
t=$(toggle_secs "$tmp/linux-prepatch.eager")
awk -v t="$t" 'BEGIN { exit !(t > 201.2 && t < 202.0) }' && ok || no "toggle seconds $t not ~201.6"
# The patched guest saves about 176 s.
saved=$(awk -v a="$(secs "$tmp/linux-prepatch.eager")" -v b="$(secs "$tmp/linux-patched.eager")" 'BEGIN { print a - b }')
awk -v s="$saved" 'BEGIN { exit !(s > 175.5 && s < 177.5) }' && ok || no "patch saves $saved s, not ~176"
# Deferred: every guest within 1% of the ideal.
for g in linux-prepatch linux-patched linux-6.13; do
    awk -v a="$(secs "$tmp/$g.deferred")" -v i="$(ideal "$tmp/$g.deferred")" \
        'BEGIN { exit !(i > 0 && a <= i * 1.01) }' && ok || no "$g deferred not within 1% of ideal"
done

# JSON
"$BARSPACE" boot $SEED --guest linux-prepatch --host deferred --json >"$tmp/j" 2>&1
expect_rc 0 $? "json"
expect_grep '"schema": "barspace.boot/1"' "$tmp/j" "json schema"
expect_grep '"check_problems": 0' "$tmp/j" "json check"
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["devices"]) == 28; assert abs(d["over_ideal"]) < 0.01' "$tmp/j" && ok || no "json parse"
fi

# Cost parameters are settable: with zero page costs only the fixed cost remains.
"$BARSPACE" boot $SEED --guest linux-prepatch --host eager --cost-fixed 1 --cost-4k 0 --cost-2m 0 --cost-1g 0 >"$tmp/c" 2>&1
expect_rc 0 $? "cost options"
awk '/^total/ { ok = ($(NF-1) == $3 + $4) } END { exit !ok }' "$tmp/c" && ok || no "fixed-cost seconds != map+unmap calls: $(grep ^total "$tmp/c")"

# Usage errors: exit 2.
"$BARSPACE" boot $SEED --host eager >"$tmp/e" 2>&1; expect_rc 2 $? "missing --guest"
"$BARSPACE" boot $SEED --guest linux-prepatch >"$tmp/e" 2>&1; expect_rc 2 $? "missing --host"
"$BARSPACE" boot $SEED --guest windows --host eager >"$tmp/e" 2>&1; expect_rc 2 $? "bad guest"
"$BARSPACE" boot $SEED --guest linux-patched --host lazy >"$tmp/e" 2>&1; expect_rc 2 $? "bad host"
"$BARSPACE" boot $SEED --guest linux-patched --host eager --cost-1g x >"$tmp/e" 2>&1; expect_rc 2 $? "bad cost"
"$BARSPACE" boot --help >"$tmp/e" 2>&1; expect_rc 0 $? "help"
expect_grep 'examples:' "$tmp/e" "help has examples"

# Bad input: file:line:col from the parser, exit 2.
printf 'topology bad\nwindow mem 0xc0000000-0xcfffffff\ndevice d {\n    bar 0 mem32 3M\n}\n' >"$tmp/bad.topo"
"$BARSPACE" boot "$tmp/bad.topo" --guest linux-patched --host eager >"$tmp/e" 2>&1
expect_rc 2 $? "bad topology"
expect_grep "bad.topo:4:[0-9]*:" "$tmp/e" "error names file:line:col"
"$BARSPACE" boot "$tmp/missing.topo" --guest linux-patched --host eager >"$tmp/e" 2>&1
expect_rc 2 $? "missing file"

# Something that cannot be assigned: exit 1, naming it.
printf 'topology full\nwindow mem 0xc0000000-0xc00fffff\ndevice d {\n    bar 0 mem32 16M\n}\n' >"$tmp/full.topo"
"$BARSPACE" boot "$tmp/full.topo" --guest linux-patched --host eager >"$tmp/e" 2>&1
expect_rc 1 $? "unassignable"
expect_grep "BAR0" "$tmp/e" "names the BAR"

echo "boot.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
