/*
 * The CLI's command table.  One line per command; each command lives in
 * tools/cmd_NAME.c as `int cmd_NAME(int argc, char **argv)` and only parses
 * arguments and prints: the work is done by libbarspace.
 */
BS_CMD(assign, "assign BARs and bridge windows of a topology, print the table")
BS_CMD(check, "check an assigned topology against every invariant")
BS_CMD(format, "parse a topology and write it back in canonical form")
BS_CMD(boot, "boot cost: a guest's config traffic vs the host's mapping policy")
BS_CMD(import, "rebuild a topology from dmesg, lspci, sysfs or /proc/iomem")
BS_CMD(diagnose, "explain failed BARs of a real machine and verify remedies")
BS_CMD(map, "draw the address map: text, SVG or HTML; before/after a plan")
BS_CMD(qemu_args, "QEMU q35 arguments for a topology (the real peer; typed qemu-args)")
BS_CMD(compare, "a real guest's final assignment vs the linux policy (peer)")
BS_CMD(replay, "replay a real guest's QEMU config trace against the emulation (peer)")
BS_CMD(churn, "replay or generate hot-plug churn: placement, moves, reduced BARs")
BS_CMD(plan, "plan a hot-add: which devices move, the config writes, checked")
BS_CMD(fleet, "fleet study: churn histories x gap sizes, P(failed hot-add) per policy; shards")
BS_CMD(generate, "a seeded random q35 topology for the peer (qemu-args accepts it)")
