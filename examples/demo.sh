#!/bin/sh
# Assign every bundled example and print its table.
#   usage: sh examples/demo.sh PATH_TO_BARSPACE
# A failed assignment (small-window.topo fails under the Linux policy on
# purpose) does not stop the demo: its exit status is printed and the next
# example follows.
if [ $# -ne 1 ]; then
    echo "usage: sh examples/demo.sh PATH_TO_BARSPACE" >&2
    exit 2
fi
bs=$1
dir=$(dirname "$0")
for f in seed-14gpu seed-25nvme small-window switch-nested sriov rebar-gpu; do
    echo "=================================================================="
    echo "== $dir/$f.topo"
    echo "=================================================================="
    "$bs" assign "$dir/$f.topo"
    rc=$?
    [ "$rc" -ne 0 ] && echo "(exit $rc)"
    echo
done
exit 0
