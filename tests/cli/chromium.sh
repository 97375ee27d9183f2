#!/bin/sh
# Render the seed VM's map and the NVMe churn report in headless Chromium:
# the browser must parse the SVG (an XML error page has no <svg>) and the
# DOM it builds must contain every device.  Chromium is Debian's `chromium`;
# when missing it is installed (as root, or when CI=true); if it cannot be
# installed the test fails in CI and is skipped (reported) elsewhere.
B=${BARSPACE:-build/barspace}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ] && { [ "$(id -u)" = 0 ] || [ "${CI:-}" = true ]; }; then
    SUDO=
    [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "installing chromium (apt-get install -y chromium)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium \
        >"$tmp/apt.log" 2>&1 ||
        { $SUDO apt-get update >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium \
              >"$tmp/apt.log" 2>&1; }
    CHROME=$(command -v chromium || true)
fi
if [ -z "$CHROME" ]; then
    if [ "${CI:-}" = true ]; then
        bad "chromium is not installed and could not be installed"
        tail -n 5 "$tmp/apt.log" 2>/dev/null
    else
        echo "SKIP: chromium not installed (apt-get install chromium); CI fails here"
    fi
    echo "chromium: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
fi

# dump FILE: the DOM Chromium built for a local file (no network).
dump() {
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync \
        --user-data-dir="$tmp/profile" --dump-dom "file://$1" 2>/dev/null
}

# The seed VM's map as a standalone SVG document.
"$B" map examples/seed-14gpu.topo --svg "$tmp/seed.svg" >/dev/null
check "[ $? -eq 0 ]" "map --svg"
dump "$tmp/seed.svg" >"$tmp/seed.dom"
check "grep -q '<svg' '$tmp/seed.dom'" "Chromium parsed the seed SVG"
check "! grep -qi 'error on line' '$tmp/seed.dom'" "no XML parse error"
n=0
for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13; do
    c=$(grep -o "class=\"bar-extent\" data-device=\"gpu$i\"" "$tmp/seed.dom" | wc -l)
    [ "$c" -eq 3 ] && n=$((n + 1))
done
check "[ $n -eq 14 ]" "DOM holds the 3 BARs of each of the 14 GPUs ($n)"
r=$(grep -o 'class="bridge-window" data-device="rp[0-9]*"' "$tmp/seed.dom" | sort -u | wc -l)
check "[ $r -eq 14 ]" "DOM holds all 14 root ports ($r)"

# The same map inside the HTML page.
"$B" map examples/seed-14gpu.topo --html "$tmp/seed.html" >/dev/null
dump "$tmp/seed.html" >"$tmp/html.dom"
check "grep -q 'class=\"barspace-map\"' '$tmp/html.dom'" "inline SVG in the page"
check "[ $(grep -o 'class=\"legend-entry\" data-device=\"gpu[0-9]*\"' "$tmp/html.dom" | sort -u | wc -l) -eq 14 ]" "page legend names every GPU"

# The NVMe churn report (25 controllers, failing and replaced).
"$B" churn --generate nvme --events 3000 --summary --html "$tmp/churn.html" >/dev/null
rc=$?
check "[ $rc -le 1 ]" "churn --html exit $rc"
if [ -s "$tmp/churn.html" ]; then
    dump "$tmp/churn.html" >"$tmp/churn.dom"
    check "grep -q 'class=\"frag-line\"' '$tmp/churn.dom'" "fragmentation plot in the DOM"
    check "[ $(grep -c 'class=\"barspace-map\"' "$tmp/churn.dom") -ge 2 ]" "maps at chosen events"
    # Every controller of the starting topology is drawn in the start map.
    n=$(sed -n '/id="event-0"/,/<\/svg>/p' "$tmp/churn.dom" |
        grep -o 'class="bar-extent" data-device="nvme[0-9]*"' | sort -u | wc -l)
    check "[ $n -eq 25 ]" "start map shows all 25 NVMe controllers ($n)"
else
    bad "churn --html wrote nothing"
fi

echo "chromium: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
