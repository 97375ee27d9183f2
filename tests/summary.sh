#!/bin/sh
# Sum the "suite:" lines of the normal and the sanitizer pass.  A pass that
# did not reach its suite line (a build error) fails the whole check.
pass=0
fail=0
for log in "$@"; do
    line=$(grep -E '^suite: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$log: the test pass did not complete (see the log above)"
        fail=$((fail + 1))
        continue
    fi
    p=$(echo "$line" | sed -E 's/suite: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed/\1/')
    pass=$((pass + p))
    fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
