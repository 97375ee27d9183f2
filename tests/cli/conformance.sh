#!/bin/sh
# CLI conformance: every command of tools/commands.h walked through the
# same checks (docs/cli.md, "Conventions"), so that no command drifts:
#   --help and `barspace help CMD` (identical, exit 0, on stdout);
#   --json prints one valid JSON document (exit 0 or 1);
#   an unknown option, a missing value: exit 2, one wording, nothing on stdout;
#   --opt=value is --opt value; -- ends the options;
#   '-' reads the input from standard input;
#   -o FILE writes there; -o to a path that cannot be written fails first;
#   standard output on /dev/full: exit 2, "cannot write <stdout>: <reason>";
#   bad input: exit 2 with file:line.
# A command missing from the table below fails the test.
B=${BARSPACE:-build/barspace}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

seed=examples/seed-14gpu.topo
nvme=examples/seed-25nvme.topo
"$B" assign $seed -o "$T/assigned.topo" >/dev/null 2>&1
"$B" churn --generate nvme --events 20 --write-topo "$T/n.topo" \
    --write-trace "$T/n.trace" >/dev/null 2>&1
printf 'window mem 0xc0000000+1G\nbogus line here\n' > "$T/bad.topo"

# name | arguments (@ = the input operand) | input (none: the command
# reads no file) | checks
#   o: takes -o FILE   s: '@' may be '-' (stdin)   b: '@' is a topology,
#   so a bad one must be named with file:line   v=OPT: an option that
#   takes a value   e=OPT=VAL: the same run spelled --opt=value
TABLE="assign|@|$seed|o s b v=--policy e=--policy=barspace
check|@|$T/assigned.topo|s b v=--before
format|@|$seed|o s b
boot|@ --guest linux-patched --host eager|$seed|s b v=--host e=--host=deferred
import|@|tests/data/import/peer/none-64bit-fail.dmesg|o s v=--format e=--format=dmesg
diagnose|@|tests/data/import/peer/none-64bit-fail.dmesg|s v=--format e=--format=dmesg
map|@|$seed|s b v=--width e=--width=120
qemu-args|@|tests/data/peer/sb-base.topo|s b
compare|@ --topology tests/data/peer/sb-base.topo|tests/data/peer/sb-base.out|v=--append
replay|@ --topology tests/data/peer/sb-base.topo|tests/data/peer/sb-base.trace|s v=--host e=--host=deferred
churn|@ --trace $T/n.trace|$T/n.topo|s b v=--events e=--events=10
plan|@ --add 'nvme25 at host bar0=mem64:128K'|$nvme|s b v=--policy e=--policy=linux
generate|--seed 3||o v=--devices e=--devices=4
fleet|--seeds 2 --gaps 2M||"

row() { # name -> the table row
    echo "$TABLE" | awk -F'|' -v n="$1" '$1 == n'
}

# Every command in tools/commands.h has a row.
for c in $(sed -n 's/^BS_CMD(\([a-z_]*\),.*/\1/p' tools/commands.h | tr _ -); do
    if [ -n "$(row "$c")" ]; then ok; else
        bad "command '$c' is not in the conformance table (tests/cli/conformance.sh)"
    fi
done

# run NAME ARGS INPUT [extra...]: ARGS with @ replaced, then the extras.
run() {
    r_name=$1 r_args=$2 r_input=$3
    shift 3
    eval "set -- $(echo "$r_args" | sed "s|@|'$r_input'|") \"\$@\""
    if [ -n "$STDIN" ]; then "$B" "$r_name" "$@" <"$STDIN"
    else "$B" "$r_name" "$@" </dev/null; fi
}

echo "$TABLE" >"$T/table"
while IFS='|' read -r name args input checks <&3; do
    # help
    "$B" "$name" --help >"$T/h1" 2>"$T/e"; rc=$?
    if [ $rc -eq 0 ] && grep -q "^usage: barspace $name" "$T/h1" && [ ! -s "$T/e" ]; then ok
    else bad "$name --help: exit $rc or no usage line"; fi
    "$B" help "$name" >"$T/h2" 2>&1
    if cmp -s "$T/h1" "$T/h2"; then ok; else bad "barspace help $name differs from $name --help"; fi
    "$B" "$name" -h >"$T/h3" 2>&1
    if cmp -s "$T/h1" "$T/h3"; then ok; else bad "$name -h differs from --help"; fi

    # the plain run and --json
    run "$name" "$args" "$input" >"$T/out" 2>"$T/err"; base=$?
    if [ $base -le 1 ]; then ok; else bad "$name $args: exit $base: $(head -c 200 "$T/err")"; fi
    run "$name" "$args" "$input" --json >"$T/j" 2>"$T/err"; rc=$?
    if [ $rc -le 1 ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/j" 2>/dev/null
    then ok; else bad "$name --json: exit $rc or not one JSON document"; fi

    # unknown option, missing value: exit 2, one wording, stdout empty
    run "$name" "$args" "$input" --no-such-option >"$T/o" 2>"$T/err"; rc=$?
    if [ $rc -eq 2 ] && [ ! -s "$T/o" ] &&
        grep -q "^barspace $name: unknown option '--no-such-option'" "$T/err"
    then ok; else bad "$name unknown option: exit $rc: $(head -c 200 "$T/err")"; fi
    for c in $checks; do
        case $c in
        v=*)
            opt=${c#v=}
            run "$name" "$args" "$input" "$opt" >"$T/o" 2>"$T/err"; rc=$?
            if [ $rc -eq 2 ] && [ ! -s "$T/o" ] &&
                grep -q "^barspace $name: option '$opt' needs a value" "$T/err"
            then ok; else bad "$name $opt without a value: exit $rc: $(head -c 200 "$T/err")"; fi ;;
        e=*)
            kv=${c#e=}
            run "$name" "$args" "$input" "$kv" >"$T/a" 2>&1; r1=$?
            run "$name" "$args" "$input" "${kv%%=*}" "${kv#*=}" >"$T/b" 2>&1; r2=$?
            if [ $r1 -eq $r2 ] && cmp -s "$T/a" "$T/b"; then ok
            else bad "$name $kv differs from ${kv%%=*} ${kv#*=}"; fi ;;
        esac
    done

    # -- ends the options: an operand after it that looks like one
    run "$name" "$args" "$input" -- --json >"$T/o" 2>"$T/err"; rc=$?
    if [ $rc -eq 2 ] && ! grep -q "unknown option" "$T/err"; then ok
    else bad "$name: '--' did not end the options (exit $rc)"; fi

    # standard output on /dev/full
    run "$name" "$args" "$input" >/dev/full 2>"$T/err"; rc=$?
    if [ $rc -eq 2 ] && grep -q "^barspace: cannot write <stdout>: No space left on device" "$T/err"
    then ok; else bad "$name >/dev/full: exit $rc: $(head -c 200 "$T/err")"; fi

    case " $checks " in *" s "*)
        STDIN=$input
        run "$name" "$args" - >"$T/o" 2>"$T/err"; rc=$?
        STDIN=
        if [ $rc -eq $base ] && [ -s "$T/o" ]; then ok
        else bad "$name with '-' for $input: exit $rc (not $base): $(head -c 200 "$T/err")"; fi ;;
    esac
    case " $checks " in *" o "*)
        run "$name" "$args" "$input" -o "$T/written" >"$T/o" 2>"$T/err"; rc=$?
        if [ $rc -eq $base ] && [ -s "$T/written" ]; then ok
        else bad "$name -o: exit $rc, file $(wc -c <"$T/written" 2>/dev/null) bytes"; fi
        run "$name" "$args" "$input" -o /nonexistent/dir/x >"$T/o" 2>"$T/err"; rc=$?
        if [ $rc -eq 2 ] && [ ! -s "$T/o" ] &&
            grep -q "^barspace: cannot write /nonexistent/dir/x: No such file or directory" "$T/err"
        then ok; else bad "$name -o /nonexistent/dir/x: exit $rc, stdout $(wc -c <"$T/o") bytes"; fi
        run "$name" "$args" "$input" -o /dev/full >"$T/o" 2>"$T/err"; rc=$?
        if [ $rc -eq 2 ] && grep -q "^barspace: cannot write /dev/full: No space left on device" "$T/err"
        then ok; else bad "$name -o /dev/full: exit $rc: $(head -c 200 "$T/err")"; fi ;;
    esac
    case " $checks " in *" b "*)
        run "$name" "$args" "$T/bad.topo" >"$T/o" 2>"$T/err"; rc=$?
        if [ $rc -eq 2 ] && grep -q "bad.topo:2:" "$T/err"; then ok
        else bad "$name on a bad topology: exit $rc, no file:line: $(head -c 200 "$T/err")"; fi ;;
    esac
    # A missing input file: exit 2, named (commands that read one).
    if [ -n "$input" ]; then
        run "$name" "$args" "$T/missing" >"$T/o" 2>"$T/err"; rc=$?
        if [ $rc -eq 2 ] && grep -q "missing" "$T/err"; then ok
        else bad "$name on a missing file: exit $rc: $(head -c 200 "$T/err")"; fi
    fi
done 3<"$T/table"

# Options that set the same thing two ways are refused.
for args in "assign $seed --realloc --no-realloc" "diagnose $seed --vm --metal" \
    "map $seed --svg $T/a.svg --html $T/a.html"; do
    # shellcheck disable=SC2086
    "$B" $args >"$T/o" 2>"$T/err"; rc=$?
    if [ $rc -eq 2 ] && grep -q "cannot be used together" "$T/err"; then ok
    else bad "barspace $args: exit $rc: $(head -c 200 "$T/err")"; fi
done
# Policies: one vocabulary and one error wording for every command.
for c in "assign $seed" "map $seed" "plan $nvme --add 'n at host bar0=mem64:4K'" \
    "churn --generate nvme --events 5"; do
    for p in linux linux-6.1 barspace pack; do
        eval "\"\$B\" $c --policy $p" >/dev/null 2>"$T/err"; rc=$?
        if [ $rc -le 1 ]; then ok; else bad "$c --policy $p: exit $rc: $(head -c 200 "$T/err")"; fi
    done
    eval "\"\$B\" $c --policy fancy" >/dev/null 2>"$T/err"; rc=$?
    if [ $rc -eq 2 ] && grep -q "unknown policy 'fancy' (expected one of: " "$T/err"; then ok
    else bad "$c --policy fancy: exit $rc: $(head -c 200 "$T/err")"; fi
done
# Limits are stated, not silently applied.
"$B" map $seed --width 5000 >"$T/o" 2>"$T/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "60..1000" "$T/err"; then ok; else bad "map --width 5000: exit $rc"; fi
"$B" churn --generate mixed:devices=2000 >"$T/o" 2>"$T/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "devices=2..200" "$T/err"; then ok; else bad "mixed:devices=2000: exit $rc"; fi
"$B" churn --generate nvme --events 200000000 >"$T/o" 2>"$T/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "out of range (0..100000000)" "$T/err"; then ok; else bad "--events 2e8: exit $rc"; fi
# One size grammar on the command line too.
for v in 64KB 64KiB 64K 0x10000 32K+32K; do
    "$B" assign $seed --hpmmiosize $v >/dev/null 2>"$T/err"; rc=$?
    if [ $rc -le 1 ]; then ok; else bad "--hpmmiosize $v: exit $rc"; fi
done
"$B" churn --generate nvme:window=4MiB --events 5 >/dev/null 2>"$T/err"; rc=$?
if [ $rc -le 1 ]; then ok; else bad "--generate nvme:window=4MiB: exit $rc: $(cat "$T/err")"; fi
# churn --write-trace to a full disk, and its file written otherwise
"$B" churn --generate nvme --events 50 --write-trace /dev/full >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "cannot write /dev/full: No space left on device" "$T/err"; then ok
else bad "churn --write-trace /dev/full: exit $rc"; fi
# Every example named in a help text exists.
for c in $(sed -n 's/^BS_CMD(\([a-z_]*\),.*/\1/p' tools/commands.h | tr _ -); do
    for f in $("$B" "$c" --help | grep -o '\(examples\|peer\|tests\)/[A-Za-z0-9_./-]*\.\(topo\|trace\|log\|dmesg\)'); do
        if [ -e "$f" ]; then ok; else bad "$c --help names $f, which does not exist"; fi
    done
done

echo "conformance: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
