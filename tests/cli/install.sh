#!/bin/sh
# `make install PREFIX=...` installs the static and shared library, the
# headers, a pkg-config file, the CLI, its man page and bash completion;
# a program built with `pkg-config --cflags --libs barspace` links and runs.
BUILD=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
SANFLAGS=
case "$BUILD" in *san*) SANFLAGS="-fsanitize=address,undefined" ;; esac

if make -s --no-print-directory BUILD="$BUILD" install PREFIX="$T/usr" >"$T/log" 2>&1; then ok; else bad "make install"; cat "$T/log"; fi
for f in lib/libbarspace.a lib/libbarspace.so.0 lib/libbarspace.so \
         lib/pkgconfig/barspace.pc include/barspace/barspace.h bin/barspace \
         share/man/man1/barspace.1; do
    if [ -e "$T/usr/$f" ]; then ok; else bad "missing $f"; fi
done
cat >"$T/user.c" <<'X'
#include <barspace/barspace.h>
#include <stdio.h>
int main(void)
{
    bs_topo *t = bs_topo_new("user");
    bs_topo_add_window(t, 0, 0xc0000000, 1u << 28);
    int d = bs_topo_add_node(t, 0, BS_NODE_DEVICE, "d");
    bs_topo_set_bar(t, d, 0, 0, 1u << 20, 0);
    int rc = bs_assign(t, NULL, NULL);
    bs_res_info r;
    bs_topo_res_info(t, d, 0, &r);
    printf("%d %llx\n", rc, (unsigned long long)r.addr);
    bs_topo_free(t);
    return 0;
}
X
PKG="env PKG_CONFIG_PATH=$T/usr/lib/pkgconfig pkg-config"
if command -v pkg-config >/dev/null 2>&1; then
    flags=$($PKG --cflags --libs barspace)
else
    # pkg-config is not on every fresh machine: read the .pc file directly.
    flags="-I$T/usr/include -L$T/usr/lib -lbarspace"
    grep -q "^Libs: -L\${libdir} -lbarspace" "$T/usr/lib/pkgconfig/barspace.pc" && ok || bad "barspace.pc Libs line"
fi
if cc $SANFLAGS "$T/user.c" $flags -o "$T/user" 2>"$T/cc.log"; then ok; else bad "link against the installed library"; cat "$T/cc.log"; fi
out=$(LD_LIBRARY_PATH="$T/usr/lib" "$T/user")
if [ "$out" = "0 c0000000" ]; then ok; else bad "program output '$out'"; fi
if "$T/usr/bin/barspace" --version | grep -q '^barspace '; then ok; else bad "installed CLI"; fi
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
