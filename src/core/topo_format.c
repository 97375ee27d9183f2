/*
 * Canonical writer of the topology text format.  bs_topo_format describes
 * the machine, not an assignment: addresses appear only where firmware fixed
 * them (fixed=), so formatting an assigned topology gives the same text as
 * formatting it before assignment.  bs_topo_format_assigned adds the
 * current assignment (at= on BARs, win-io/mem/pref= on bridges), the form
 * `barspace check` reads.  One spelling per fact (fixed attribute
 * order, sizes through bs_fmt_size, addresses in hex, 4-space indentation)
 * makes parse -> format a fixed point.
 */
#include "core/internal.h"
#include "core/writer.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

struct out {
    struct rw w;
    bool assigned; /* also write at= and win-*= (an assigned state) */
};

static void emit(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rw_vprintf(&o->w, fmt, ap);
    va_end(ap);
}

static void indent(struct out *o, int depth)
{
    for (int i = 1; i < depth; i++)
        emit(o, "    ");
}

/* The size a slot was described with, undoing what assignment changes:
 * a reduced BAR keeps its request in `want`, a VF slot holds the per-VF
 * size times the VF count. */
static uint64_t described_size(const struct bs_node *n, int slot)
{
    const struct bs_res *r = &n->res[slot];
    uint64_t s = r->want ? r->want : r->size;
    if (slot >= BS_SLOT_VF0 && slot < BS_SLOT_VF0 + 6 && n->num_vfs)
        s /= n->num_vfs;
    return s;
}

static void write_res(struct out *o, const struct bs_node *n, int slot)
{
    const struct bs_res *r = &n->res[slot];
    char sb[32];
    if (!r->size || (r->flags & BS_RF_UPPER))
        return;
    uint64_t size = described_size(n, slot);
    indent(o, n->depth + 1);
    if (slot == BS_SLOT_ROM) {
        emit(o, "rom %s", bs_fmt_size(size, sb, sizeof sb));
    } else {
        bool vf = slot >= BS_SLOT_VF0;
        const char *type = (r->flags & BS_RF_IO)      ? "io"
                           : (r->flags & BS_RF_MEM64) ? "mem64"
                                                      : "mem32";
        emit(o, "%s %d %s %s", vf ? "vfbar" : "bar",
             vf ? slot - BS_SLOT_VF0 : slot, type,
             bs_fmt_size(size, sb, sizeof sb));
        if (r->flags & BS_RF_PREF)
            emit(o, " pref");
    }
    if (r->flags & BS_RF_FIXED)
        emit(o, " fixed=0x%llx", (unsigned long long)r->fixed);
    else if (o->assigned && (r->flags & BS_RF_ASSIGNED))
        emit(o, " at=0x%llx", (unsigned long long)r->addr);
    if (r->rebar) {
        const char *sep = " rebar=";
        /* Bits 44 and up would be sizes beyond 2^63: no BAR has them. */
        for (int b = 0; b < 44; b++) {
            if (!((r->rebar >> b) & 1))
                continue;
            emit(o, "%s%s", sep, bs_fmt_size(BS_MIB << b, sb, sizeof sb));
            sep = ",";
        }
    }
    emit(o, "\n");
}

static void write_node(struct out *o, const bs_topo *t, int id)
{
    const struct bs_node *n = &t->nodes[id];
    char sb[32];
    bool bridge = n->kind == BS_NODE_BRIDGE;
    indent(o, n->depth);
    bool vpci = n->flags & BS_NF_VPCI;
    emit(o, "%s %s", vpci ? "vpci" : bridge ? "bridge" : "device", n->name);
    if (vpci) {
        /* A vPCI bus: its domain; assigned, its config window (BAR0). */
        emit(o, " domain=0x%04x", (unsigned)n->domain);
        const struct bs_res *c = &n->res[BS_SLOT_BAR0];
        if (o->assigned && (c->flags & BS_RF_ASSIGNED))
            emit(o, " cfg=0x%llx", (unsigned long long)c->addr);
    } else if (bridge) {
        if (n->flags & BS_NF_HOTPLUG)
            emit(o, " hotplug");
        static const char *const rk[3] = {"io", "mem", "pref"};
        for (int i = 0; i < 3; i++)
            if (n->reserve[i])
                emit(o, " %s=%s", rk[i],
                     bs_fmt_size(n->reserve[i], sb, sizeof sb));
        if (n->flags & BS_NF_PREF32)
            emit(o, " pref32");
    } else if (n->flags & BS_NF_PINNED) {
        emit(o, " pinned");
    }
    if (n->slot >= 0)
        emit(o, " slot=%d", n->slot);
    if (n->fn >= 0)
        emit(o, " fn=%d", n->fn);
    if (n->model[0])
        emit(o, " model=%s", n->model);
    if (!bridge && n->num_vfs)
        emit(o, " vfs=%u", n->num_vfs);
    for (int i = 0; bridge && o->assigned && i < 3; i++) {
        static const char *const wk[3] = {"win-io", "win-mem", "win-pref"};
        const struct bs_res *w = &n->res[BS_SLOT_WIN_IO + i];
        if ((w->flags & BS_RF_ASSIGNED) && w->size)
            emit(o, " %s=0x%llx-0x%llx", wk[i], (unsigned long long)w->addr,
                 (unsigned long long)bs_last(w->addr, w->size));
    }

    bool body = n->first_child >= 0;
    for (int s = vpci ? BS_SLOT_WIN_IO : 0; s < BS_SLOT_WIN_IO && !body; s++)
        body = n->res[s].size && !(n->res[s].flags & BS_RF_UPPER);
    if (!body) {
        emit(o, "\n");
        return;
    }
    emit(o, " {\n");
    for (int s = vpci ? BS_SLOT_ROM : BS_SLOT_BAR0; s <= BS_SLOT_ROM; s++)
        write_res(o, n, s);
    for (int s = BS_SLOT_VF0; s < BS_SLOT_VF0 + 6; s++)
        write_res(o, n, s);
    BS_FOR_CHILDREN(t, id, c)
        write_node(o, t, c);
    indent(o, n->depth);
    emit(o, "}\n");
}

static size_t format(const bs_topo *t, char *buf, size_t cap, bool assigned)
{
    struct out o = {.assigned = assigned};
    rw_init(&o.w, buf, cap);
    if (t->name[0])
        emit(&o, "topology %s\n", t->name);
    if (t->platform == 1) /* BS_PLATFORM_HYPERV */
        emit(&o, "platform hyperv\n");
    for (int i = 0; i < t->nwin; i++) {
        const struct bs_rootwin *w = &t->win[i];
        emit(&o, "window %s 0x%llx-0x%llx%s",
             (w->flags & BS_RF_IO) ? "io" : "mem",
             (unsigned long long)w->base,
             (unsigned long long)bs_last(w->base, w->size),
             (w->flags & BS_RF_PREF) ? " pref" : "");
        if (w->offset)
            emit(&o, " bus=0x%llx", (unsigned long long)(w->base - w->offset));
        emit(&o, "\n");
    }
    if (t->fb_size)
        emit(&o, "framebuffer 0x%llx-0x%llx\n", (unsigned long long)t->fb_base,
             (unsigned long long)bs_last(t->fb_base, t->fb_size));
    if (t->nnodes > 1)
        emit(&o, "\n");
    BS_FOR_CHILDREN(t, 0, c)
        write_node(&o, t, c);
    return o.w.len;
}

size_t bs_topo_format(const bs_topo *t, char *buf, size_t cap)
{
    return format(t, buf, cap, false);
}

size_t bs_topo_format_assigned(const bs_topo *t, char *buf, size_t cap)
{
    return format(t, buf, cap, true);
}
