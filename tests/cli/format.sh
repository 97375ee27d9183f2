#!/bin/sh
# barspace format: canonical output, fixed point, exact errors, exit codes.
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

# A non-canonical file: comments, tabs, CRLF-free odd spacing, BASE+SIZE,
# glued braces, attributes out of order, sizes in hex and KiB.
cat > "$tmp/in.topo" <<'T'
# comment
topology demo
window   mem 0xc0000000+0x40000000   # 1G
window io 4096+61440
bridge rp0 slot=2 mem=0x200000 hotplug{
	device nic0 model=nic pinned {
		rom 0x10000
		bar 2 mem64 16KiB
		bar 0 mem32 0x1000000 pref fixed=0xc1000000
	}
}
device vga
T
cat > "$tmp/want.topo" <<'T'
topology demo
window mem 0xc0000000-0xffffffff
window io 0x1000-0xffff

bridge rp0 hotplug mem=2M slot=2 {
    device nic0 pinned model=nic {
        bar 0 mem32 16M pref fixed=0xc1000000
        bar 2 mem64 16K
        rom 64K
    }
}
device vga
T
"$BARSPACE" format "$tmp/in.topo" > "$tmp/out.topo" 2> "$tmp/err"
expect_rc 0 $? "format in.topo"
if cmp -s "$tmp/out.topo" "$tmp/want.topo"; then ok; else
    no "canonical text differs:"; diff "$tmp/want.topo" "$tmp/out.topo"; fi

# --check: canonical text passes, the original does not.
"$BARSPACE" format --check "$tmp/want.topo" > "$tmp/o" 2>&1
expect_rc 0 $? "--check canonical"
"$BARSPACE" format --check "$tmp/in.topo" > "$tmp/o" 2>&1
expect_rc 1 $? "--check non-canonical"
expect_grep "not in canonical form" "$tmp/o" "--check message"

# Every example: format is a fixed point.
for f in examples/*.topo; do
    "$BARSPACE" format "$f" > "$tmp/a.topo"
    expect_rc 0 $? "format $f"
    "$BARSPACE" format "$tmp/a.topo" > "$tmp/b.topo"
    if cmp -s "$tmp/a.topo" "$tmp/b.topo"; then ok; else no "$f: not a fixed point"; fi
done
"$BARSPACE" format examples/switch-nested.topo > "$tmp/sn"
expect_grep "^        bridge dsp2 hotplug io=4K mem=8M pref=256M slot=2 model=switch-downstream$" \
    "$tmp/sn" "brace-less empty bridge"

# Bad input: exit 2 and file:line:col on stderr.
printf 'window mem 0xc0000000+1G\ndevice d {\n  bar 0 mem32 abc\n}\n' > "$tmp/bad.topo"
"$BARSPACE" format "$tmp/bad.topo" > "$tmp/o" 2> "$tmp/err"
expect_rc 2 $? "bad size"
expect_grep "^barspace: $tmp/bad.topo:3:15: expected a size (e.g. 64K, 0x1000, 2G), got 'abc'$" \
    "$tmp/err" "bad size message"
if [ -s "$tmp/o" ]; then no "bad input printed on stdout"; else ok; fi

printf 'window mem 0xc0000000+1G\nbridge b {\n  device d\n' > "$tmp/open.topo"
"$BARSPACE" format "$tmp/open.topo" > /dev/null 2> "$tmp/err"
expect_rc 2 $? "unclosed"
expect_grep "open.topo:2:10: '{' of bridge 'b' is never closed" "$tmp/err" "unclosed message"

: > "$tmp/empty.topo"
"$BARSPACE" format "$tmp/empty.topo" > /dev/null 2> "$tmp/err"
expect_rc 2 $? "empty"
expect_grep "empty.topo: no root window" "$tmp/err" "empty message"

printf 'window mem 0xc0000000+1G\n\000\377\n' > "$tmp/bin.topo"
"$BARSPACE" format "$tmp/bin.topo" > /dev/null 2> "$tmp/err"
expect_rc 2 $? "binary"
expect_grep "bin.topo:2:1: binary data" "$tmp/err" "binary message"
# The file reader stops at the first NUL byte: /dev/zero is refused at
# once, not after reading up to the size limit.
"$BARSPACE" assign /dev/zero > /dev/null 2> "$tmp/err"
expect_rc 2 $? "assign /dev/zero"
expect_grep "/dev/zero:1:1: binary data" "$tmp/err" "/dev/zero message"
# From standard input the parser itself names the bytes.
"$BARSPACE" format - < "$tmp/bin.topo" > /dev/null 2> "$tmp/err"
expect_rc 2 $? "binary on stdin"
expect_grep "<stdin>:2:1: unknown keyword '\\\\x00\\\\xff'" "$tmp/err" "binary message on stdin"

"$BARSPACE" format "$tmp/missing.topo" > /dev/null 2> "$tmp/err"
expect_rc 2 $? "missing file"
expect_grep "missing.topo: cannot open" "$tmp/err" "missing file message"

# Usage.
"$BARSPACE" format > /dev/null 2>&1
expect_rc 2 $? "no FILE"
"$BARSPACE" format a b > /dev/null 2>&1
expect_rc 2 $? "two FILEs"
"$BARSPACE" format --bogus x > /dev/null 2>&1
expect_rc 2 $? "unknown option"
"$BARSPACE" format --help > "$tmp/o"
expect_rc 0 $? "--help"
expect_grep "example" "$tmp/o" "--help example"
"$BARSPACE" format --json "$tmp/want.topo" > "$tmp/o"
expect_rc 0 $? "--json"
expect_grep '^{"schema":"barspace.format/1","file":".*","canonical":true,"text":"topology demo\\u000a' \
    "$tmp/o" "--json"

echo "format_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
