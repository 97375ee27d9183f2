#!/bin/sh
# Run every test binary and CLI test script against one build directory and
# print "suite: N passed, N failed".  A binary that dies without its own
# closing line counts as one failure, so a crash can never pass silently.
BUILD=${BUILD:-build}
BARSPACE=$BUILD/barspace
export BARSPACE BUILD
pass=0
fail=0
# The CLI tests validate JSON with python3 (standard library only).  Debian
# ships it nearly everywhere; a minimal image may not: install it as the
# other package-needing targets do (as root, or in CI).
if ! command -v python3 >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "tests: installing python3 (apt-get install -y python3)"
    { apt-get install -y python3 || { apt-get update && apt-get install -y python3; }; } >/dev/null 2>&1
fi
tmp=$(mktemp)
for t in "$BUILD"/tests/test_* tests/cli/*.sh; do
    [ -e "$t" ] || continue
    case "$t" in *.o|*.d) continue ;; esac
    if [ "${t%.sh}" != "$t" ]; then sh "$t" >"$tmp" 2>&1; else "$t" >"$tmp" 2>&1; fi
    rc=$?
    line=$(grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed$' "$tmp" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAIL $t: exit $rc without a closing line"
        tail -n 20 "$tmp"
        fail=$((fail + 1))
        continue
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
    f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$f" -ne 0 ]; then
        grep -E 'FAIL|failed|ERROR|Sanitizer|runtime error' "$tmp" | head -n 40
    fi
    echo "$line"
    pass=$((pass + p))
    fail=$((fail + f))
done
rm -f "$tmp"
echo "suite: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
