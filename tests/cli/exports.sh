#!/bin/sh
# libbarspace.so exports exactly the API: every dynamic symbol it defines is
# a function or object declared in include/barspace/, and every function
# declared there is defined.  Internal helpers (imp_*, rm_*, rw_*, vm_* and
# internal bs_* functions) stay hidden, so nobody can come to depend on them.
BUILD=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if make -s --no-print-directory BUILD="$BUILD" "$BUILD/libbarspace.so" >"$T/log" 2>&1; then ok
else bad "building $BUILD/libbarspace.so"; cat "$T/log"; fi
nm -D --defined-only "$BUILD/libbarspace.so" | awk '{print $3}' | sort -u >"$T/exported"
# Declarations as the compiler sees them (comments gone): names followed by
# an opening parenthesis are functions.
for h in include/barspace/*.h; do echo "#include \"${h#include/}\""; done >"$T/all.c"
${CC:-cc} -E -Iinclude "$T/all.c" | grep -v '^#' |
    grep -oE '\bbs_[a-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:](]//g' |
    sort -u >"$T/declared"
n=$(wc -l <"$T/exported")
if [ "$n" -gt 50 ]; then ok; else bad "only $n symbols exported"; fi
extra=$(comm -23 "$T/exported" "$T/declared")
if [ -z "$extra" ]; then ok; else bad "exported but not declared in include/barspace/: $(echo $extra)"; fi
missing=$(comm -13 "$T/exported" "$T/declared")
if [ -z "$missing" ]; then ok; else bad "declared in include/barspace/ but not exported: $(echo $missing)"; fi
echo "exports: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
