#!/bin/sh
# Refresh this corpus from the QEMU peer's runs (peer/out/NAME/console.log):
# each complete run gives NAME.dmesg (the guest's kernel PCI lines), NAME.iomem
# (/proc/iomem), NAME.sysfs.tar (its sysfs report rebuilt as a ustar archive
# of DDDD:BB:DD.F/{resource,vendor,device,class}) and NAME.env (firmware and
# kernel command line of the boot).
#   sh tests/data/import/peer/extract.sh [peer/out]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-$here/../../../../peer/out}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in "$src"/*/; do
    name=$(basename "$d")
    [ -f "$d/console.log" ] && [ -f "$d/run.env" ] || continue
    # OVMF clears the serial console with escape sequences; its lines end
    # in CRLF, which is kept (the importers take both).
    log=$tmp/console.log
    sed 's/\x1b\[[0-9;=]*[A-Za-z]//g' "$d/console.log" >"$log"
    grep -q '^@@PEER end' "$log" || continue
    sed -n '/^@@PEER dmesg/,/^@@PEER /p' "$log" | sed '1d;$d' >"$here/$name.dmesg"
    sed -n '/^@@PEER iomem/,/^@@PEER /p' "$log" | sed '1d;$d' >"$here/$name.iomem"
    grep -E '^(firmware|append)=' "$d/run.env" >"$here/$name.env"
    rm -rf "$tmp/devices" && mkdir -p "$tmp/devices"
    sed -n '/^@@PEER sysfs/,/^@@PEER end/p' "$log" | awk -v out="$tmp/devices" '
        /^dev / { dir = out "/" $2; system("mkdir -p " dir);
                  print $3 > (dir "/vendor"); print $4 > (dir "/device");
                  print $5 > (dir "/class"); n = 0;
                  lines[dir] = 0; cur = dir; next }
        /^[0-9]+:/ { split($0, a, ":"); idx = a[1]; sub(/^[0-9]+:/, "", $0);
                  res[cur, idx] = $0; if (idx > max[cur]) max[cur] = idx; next }
        END { for (k in lines) { m = max[k] > 13 ? 17 : (max[k] > 7 ? 13 : 7);
                  for (i = 1; i <= m; i++) {
                      v = ((k, i) in res) ? res[k, i] : "0x0000000000000000 0x0000000000000000 0x0000000000000000";
                      print v > (k "/resource") } } }'
    # Archives are mostly padding: keep a few (see README).
    case $name in none-base|none-io-pressure|sb-base) ;; *) continue ;; esac
    (cd "$tmp" && tar --format=ustar -cf "$here/$name.sysfs.tar" devices)
done
