#!/bin/sh
# The README's examples are run and must print what the README shows.
# Every ``` block (not ```sh: those are instructions, not transcripts) is
# read as a terminal session: a line "$ COMMAND" is run from the top of
# the tree with `barspace` being the binary under test, and the lines up
# to the next "$ " line are its expected output.  In the expected output a
# line "..." stands for any number of skipped lines and a line ending in
# "..." for any line starting with what precedes it.  "$ echo $?" shows
# the previous command's exit status.  Every file a command names must
# be shipped (the command fails otherwise).
B=${BARSPACE:-build/barspace}
case "$B" in /*) ;; *) B="$(pwd)/$B" ;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ln -s "$B" "$T/barspace"
if ! command -v python3 >/dev/null 2>&1; then
    echo "FAIL: python3 not found (Debian: apt-get install python3)"
    echo "readme: 0 passed, 1 failed"
    exit 1
fi
PATH="$T:$PATH" python3 - README.md <<'EOF'
import re, subprocess, sys

def sessions(text):
    """(line number, command, expected lines) of every transcript block."""
    out, block, fence = [], None, None
    for no, line in enumerate(text.split("\n"), 1):
        if line.startswith("```"):
            if block is None:
                block = [] if line.strip() == "```" else None
                fence = line
                if block is None:
                    block = "skip"
            else:
                if block != "skip":
                    out.extend(block)
                block = None
            continue
        if block is None or block == "skip":
            continue
        if line.startswith("$ "):
            block.append([no, line[2:], []])
        elif block:
            block[-1][2].append(line)
    return out

def match(expected, actual):
    """Expected lines (with '...' rules) against actual; the first
    difference as a message, or None."""
    def rec(i, j):
        if i == len(expected):
            return None if j == len(actual) else \
                "extra output line: %r" % actual[j]
        e = expected[i]
        if e.strip() == "...":
            for k in range(j, len(actual) + 1):
                if rec(i + 1, k) is None:
                    return None
            return "no match after '...' for %r" % (expected[i + 1]
                   if i + 1 < len(expected) else "end")
        if j == len(actual):
            return "missing output line: %r" % e
        a = actual[j]
        if e.endswith("...") and a.startswith(e[:-3].rstrip()):
            return rec(i + 1, j + 1)
        if a.rstrip() != e.rstrip():
            return "expected %r, got %r" % (e, a)
        return rec(i + 1, j + 1)
    return rec(0, 0)

sys.setrecursionlimit(100000)
text = open(sys.argv[1]).read()
passed = failed = 0
last_rc = 0
for no, cmd, exp in sessions(text):
    while exp and exp[-1] == "":
        exp.pop()
    if cmd.strip() == "echo $?":
        actual, rc = [str(last_rc)], 0
    else:
        p = subprocess.run(["sh", "-c", cmd], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        actual, rc = p.stdout.split("\n"), p.returncode
        if actual and actual[-1] == "":
            actual.pop()
        last_rc = rc
        if p.stderr and not exp:
            actual += p.stderr.rstrip("\n").split("\n")
    why = match(exp, actual)
    if why is None:
        passed += 1
    else:
        failed += 1
        print("FAIL: README.md:%d: $ %s: %s" % (no, cmd, why))
print("readme: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
EOF
