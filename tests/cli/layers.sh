#!/bin/sh
# The layers of src/ and what each may use (CONTRIBUTING.md explains them).
# The graph is derived from the sources: a file of layer A that includes
# "B/..." (an internal header) or a public header of layer B uses B.  The
# test fails on a use the table below does not allow and on any cycle.
#
# Public headers belong to the layer that implements them; barspace.h is
# the core API (topology, allocator, checker; bs_assign is declared there
# too and is assign's).
cd "$(dirname "$0")/../.." || exit 2
pass=0
fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }

# layer: the layers it may use
allowed() {
    case $1 in
    core)     echo "" ;;
    hyperv)   echo "core" ;;
    assign)   echo "core hyperv" ;;
    vm)       echo "core" ;;
    import)   echo "core" ;;
    render)   echo "core" ;;
    churn)    echo "core assign hyperv" ;;
    fleet)    echo "core churn render" ;;
    peer)     echo "core assign vm import churn" ;;
    snapshot) echo "core vm churn" ;;
    diagnose) echo "core assign churn import" ;;
    *)        echo "?" ;;
    esac
}

header_layer() { # public header -> layer
    case $1 in
    barspace.h) echo core ;;
    cfgspace.h) echo vm ;;
    churn.h | plan.h) echo churn ;;
    hyperv.h) echo hyperv ;;
    fleet.h) echo fleet ;;
    logcmp.h) echo peer ;;
    diagnose.h) echo diagnose ;;
    import.h) echo import ;;
    qemu.h) echo peer ;;
    render.h) echo render ;;
    snapshot.h) echo snapshot ;;
    *) echo "?" ;;
    esac
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# "A B file:line" for every include of another layer
for f in src/*/*.c src/*/*.h; do
    a=$(basename "$(dirname "$f")")
    grep -n '^#include "[a-z_]*/[a-z_]*\.h"' "$f" | while IFS= read -r line; do
        n=${line%%:*}
        inc=$(echo "$line" | sed 's/.*#include "\([^"]*\)".*/\1/')
        dir=${inc%%/*}
        if [ "$dir" = barspace ]; then
            b=$(header_layer "${inc#barspace/}")
        elif [ -d "src/$dir" ]; then
            b=$dir
        else
            b="?"
        fi
        [ "$b" = "$a" ] || echo "$a $b $f:$n"
    done
done > "$tmp"

layers=$(ls -d src/*/ | xargs -n1 basename)
for a in $layers; do
    [ "$(allowed "$a")" = "?" ] && no "src/$a is not in the layer table of $0" && continue
    ok
done
# every use allowed
while read -r a b where; do
    case " $(allowed "$a") " in
    *" $b "*) ok ;;
    *) no "$where: $a uses $b, which it may not (allowed: $(allowed "$a"))" ;;
    esac
done < "$tmp"

# cycles: repeatedly drop layers that use nothing left; what remains cycles
edges=$(awk '{print $1, $2}' "$tmp" | sort -u)
left=$(echo $layers)
changed=1
while [ $changed = 1 ]; do
    changed=0
    next=""
    for a in $left; do
        uses=$(echo "$edges" | awk -v a="$a" '$1 == a {print $2}')
        dep=0
        for b in $uses; do
            case " $left " in *" $b "*) dep=1 ;; esac
        done
        if [ $dep = 0 ]; then changed=1; else next="$next $a"; fi
    done
    left=$next
done
if [ -n "$(echo $left)" ]; then
    no "layers in a cycle or above one:$left"
    echo "$edges" | while read -r a b; do
        case " $left " in *" $a "*) case " $left " in *" $b "*) echo "  $a -> $b" ;; esac ;; esac
    done
else
    ok
fi
if [ "${1:-}" = "-v" ]; then
    echo "layer graph (A -> B: A uses B):"
    echo "$edges" | sed 's/^/  /; s/ \([a-z]*\)$/ -> \1/'
fi
echo "layers: $pass passed, $fail failed"
[ $fail = 0 ]
