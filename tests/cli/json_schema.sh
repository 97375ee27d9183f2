#!/bin/sh
# Every command's --json output validates against its schema in
# docs/schemas/ (tests/json_validate.py, python3 standard library only).
# A command listed by `barspace --help` without a schema and an invocation
# here fails the test: a new command must document its JSON.
B=${BARSPACE:-build/barspace}
V="python3 tests/json_validate.py"
S=docs/schemas
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if ! command -v python3 >/dev/null 2>&1; then
    bad "python3 not found (Debian: apt-get install python3)"
    echo "json_schema: $pass passed, $fail failed"
    exit 1
fi

covered=""
# run SCHEMA ARGS...: the command must exit 0 or 1 and print valid JSON.
run() {
    schema=$1
    shift
    cmd=$1
    covered="$covered $cmd "
    for f in "$@"; do
        case "$f" in
        examples/*|tests/data/*)
            [ -e "$f" ] || { bad "$cmd: fixture $f missing"; return; } ;;
        esac
    done
    "$B" "$@" --json >"$tmp/out.json" 2>"$tmp/err"
    rc=$?
    if [ $rc -gt 1 ]; then
        bad "barspace $*: exit $rc: $(head -c 300 "$tmp/err")"
        return
    fi
    if $V "$S/$schema.schema.json" "$tmp/out.json" >"$tmp/v" 2>&1; then
        ok
    else
        bad "barspace $* --json does not match $schema: $(head -n 5 "$tmp/v")"
    fi
}

seed=examples/seed-14gpu.topo
nvme=examples/seed-25nvme.topo
"$B" assign $seed -o "$tmp/a.topo" >/dev/null 2>&1

run assign assign $seed
run assign assign examples/small-window.topo
run assign assign examples/switch-nested.topo --policy pack
run assign assign examples/sriov.topo
run assign assign tests/data/topo/bus-offset.topo
run check check "$tmp/a.topo"
run check check "$tmp/a.topo" --before $seed
run format format examples/switch-nested.topo
run qemu-args qemu-args tests/data/peer/sb-base.topo
run compare compare tests/data/peer/sb-base.out --topology tests/data/peer/sb-base.topo
run compare compare tests/data/peer/none-base.out --topology tests/data/peer/none-base.topo
run compare-log compare tests/data/import/k6-arm64-bus-address.log
run compare-log compare tests/data/import/peer/none-64bit-fail.dmesg --kernel 6.1
run import import tests/data/import/peer/none-64bit-fail.dmesg
run import import tests/data/import/lspci-vvvnn.txt
run diagnose diagnose tests/data/import/peer/none-64bit-fail.dmesg
run diagnose diagnose tests/data/import/k5-sriov.log
run map map $seed
run map map examples/small-window.topo
run map map examples/switch-nested.topo --policy pack
run mapdiff map $nvme --add 'nvme25 at host bar0=mem64:128K'
run churn churn --generate nvme --events 300
run churn churn --generate gpu --events 60 --summary
run churn churn --generate mixed --events 100 --policy linux
run plan plan $nvme --add 'nvme25 at host bar0=mem64:128K'
run plan plan $nvme --add 'huge at host bar0=mem64:1T'
run boot boot $seed --guest linux-prepatch --host eager
run boot boot $seed --guest linux-6.13 --host deferred --bridge-windows
run replay replay tests/data/peer/sb-base.trace --topology tests/data/peer/sb-base.topo
run fleet fleet --seeds 3 --gaps 2M,3M -o "$tmp/runs.jsonl"
# Every line of fleet -o is a run document.
if $V "$S/fleet-run.schema.json" "$tmp/runs.jsonl" >"$tmp/v" 2>&1; then ok; else
    bad "fleet -o lines do not match fleet-run: $(head -n 3 "$tmp/v")"; fi
run assign assign examples/hyperv-25nvme.topo
run hv-diagnose diagnose tests/data/hyperv/gpu-high-fail.dmesg tests/data/hyperv/vm-12m.topo
run hv-diagnose diagnose tests/data/hyperv/all-ok.journal
"$B" assign examples/hyperv-25nvme.topo -o "$tmp/hv.topo" >/dev/null
run check check "$tmp/hv.topo"
run generate generate --seed 7

# Every command of `barspace --help` is covered above.
cmds=$("$B" --help | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 && $1 != "commands:" { print $1 }')
for c in $cmds; do
    case "$covered" in
    *" $c "*) ok ;;
    *) bad "command '$c' has no --json schema test (docs/schemas/, tests/cli/json_schema.sh)" ;;
    esac
done

# The validator itself rejects what it must: wrong type, missing field,
# unknown field, value outside an enum, wrong schema name.
"$B" check "$tmp/a.topo" --json >"$tmp/c.json"
for mut in 's/"valid":[a-z]*/"valid":"yes"/' 's/"count":[0-9]*,//' \
    's/"violations"/"violations":[],"extra"/' 's/check\/1/check\/2/'; do
    sed "$mut" "$tmp/c.json" >"$tmp/m.json"
    if cmp -s "$tmp/c.json" "$tmp/m.json"; then
        bad "mutation $mut did not apply"
    elif $V "$S/check.schema.json" "$tmp/m.json" >/dev/null 2>&1; then
        bad "validator accepted a document mutated by $mut"
    else
        ok
    fi
done
"$B" map $seed --json | sed 's/"type":"free"/"type":"hole"/' >"$tmp/m.json"
if $V "$S/map.schema.json" "$tmp/m.json" >/dev/null 2>&1; then
    bad "validator accepted an extent type outside the enum"
else
    ok
fi
# Every schema is itself well-formed for the validator (exit 2 if not).
for s in $S/*.schema.json; do
    echo '{}' | $V "$s" >/dev/null 2>&1
    if [ $? -eq 2 ]; then bad "$s: schema not understood"; else ok; fi
done

echo "json_schema: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
