/*
 * Snapshot and restore (docs/snapshot-format.md).
 *
 * Every integer is written byte by byte, little-endian, so the format does
 * not depend on the host.  The reader is a cursor that never reads past the
 * section it is in; every failed expectation names the byte offset from the
 * start of the snapshot.  Counts read from the input are checked against the
 * bytes that remain before anything is allocated, so a corrupt count cannot
 * make restore allocate more than a small multiple of the input size.
 *
 * Nodes are not rebuilt through bs_topo_add_node: the child order of a
 * running topology is not necessarily id order (churn reuses nodes), so the
 * links are stored and then verified to describe exactly the tree the parent
 * fields describe.
 */
#include "core/internal.h"
#include "barspace/snapshot.h"
#include "vm/vm_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "\x89" "BSNAP\r\n"
#define HDR_LEN 28
#define SEC_HDR_LEN 16
#define SEC_REQUIRED 1u
#define MAX_SECTIONS 64
#define MAX_STEPS (1 << 24)
#define STEP_WHAT_MAX 47

/* Section tags. */
#define TAG_TOPO "TOPO" /* the state's topology */
#define TAG_PLNB "PLNB" /* pending plan: topology before */
#define TAG_PLNA "PLNA" /* pending plan: topology after */
#define TAG_PLNS "PLNS" /* pending plan: steps and progress */
#define TAG_VMCF "VMCF" /* emulated machine: registers and mappings */
#define TAG_WBUS "WBUS" /* root windows' bus offsets (translating hosts) */

/* Offsets inside a node record, for messages. */
#define NODE_PARENT 1
#define NODE_FIRST 5
#define NODE_LAST 13
#define NODE_NAME 61
/* Smallest encodings, used to bound counts before allocating. */
#define MIN_NODE_BYTES (NODE_NAME + 6) /* two empty strings, empty mask */
#define MIN_FAIL_BYTES 43
#define MIN_STEP_BYTES 14
#define WIN_BYTES 24
#define STATS_BYTES (11 * 8 + 2 * 8)
#define MAP_BYTES 33
#define MIN_FN_BYTES (3 + VM_HDR + VM_NBAR * 4 + 1 + VM_NBAR * MAP_BYTES + 1 + \
                      STATS_BYTES)

#define RF_KNOWN (BS_RF_IO | BS_RF_MEM64 | BS_RF_PREF | BS_RF_FIXED |         \
                  BS_RF_ASSIGNED | BS_RF_FAILED | BS_RF_REDUCED | BS_RF_UPPER)
#define NF_KNOWN (BS_NF_HOTPLUG | BS_NF_PINNED | BS_NF_PREF32 | BS_NF_VPCI)

/* ------------------------------------------------------------- CRC-32 */

/* CRC-32 (IEEE 802.3, reflected, as zlib and PNG).  The table is built on
 * the stack: the library keeps no statics and this costs 2k operations. */
static uint32_t crc32_buf(uint32_t crc, const unsigned char *p, size_t n)
{
    uint32_t tab[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        tab[i] = c;
    }
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = tab[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------------- writer */

struct wr {
    unsigned char *b;
    size_t n, cap;
    bool oom;
};

static void w_bytes(struct wr *w, const void *p, size_t n)
{
    if (w->oom)
        return;
    if (w->cap - w->n < n) {
        size_t ncap = w->cap ? w->cap : 4096;
        while (ncap - w->n < n) {
            if (ncap > SIZE_MAX / 2) {
                w->oom = true;
                return;
            }
            ncap *= 2;
        }
        unsigned char *nb = realloc(w->b, ncap);
        if (!nb) {
            w->oom = true;
            return;
        }
        w->b = nb;
        w->cap = ncap;
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void w_uint(struct wr *w, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    w_bytes(w, b, (size_t)bytes);
}

static void w_u8(struct wr *w, unsigned v) { w_uint(w, v, 1); }
static void w_u16(struct wr *w, unsigned v) { w_uint(w, v, 2); }
static void w_u32(struct wr *w, uint32_t v) { w_uint(w, v, 4); }
static void w_i32(struct wr *w, int v) { w_uint(w, (uint32_t)v, 4); }
static void w_u64(struct wr *w, uint64_t v) { w_uint(w, v, 8); }

static void w_str(struct wr *w, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    w_u16(w, (unsigned)n);
    w_bytes(w, s, n);
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Open a section: returns the offset of its header, patched by sec_end. */
static size_t sec_begin(struct wr *w, const char *tag, unsigned flags)
{
    size_t at = w->n;
    w_bytes(w, tag, 4);
    w_u32(w, flags);
    w_u64(w, 0);
    return at;
}

static void sec_end(struct wr *w, size_t at)
{
    if (w->oom)
        return;
    put_le(w->b + at + 8, w->n - at - SEC_HDR_LEN, 8);
    w_u32(w, crc32_buf(0, w->b + at, w->n - at));
}

static void w_topo(struct wr *w, const bs_topo *t)
{
    w_str(w, t->name, sizeof t->name - 1);
    w_u32(w, (uint32_t)t->nwin);
    for (int i = 0; i < t->nwin; i++) {
        const struct bs_rootwin *x = &t->win[i];
        w_u32(w, x->flags);
        w_u64(w, x->base);
        w_u64(w, x->size);
        w_i32(w, x->line);
    }
    w_u32(w, (uint32_t)t->nnodes);
    for (int i = 0; i < t->nnodes; i++) {
        const struct bs_node *n = &t->nodes[i];
        w_u8(w, (unsigned)n->kind);
        w_i32(w, n->parent);
        w_i32(w, n->first_child);
        w_i32(w, n->next_sibling);
        w_i32(w, n->last_child);
        w_u32(w, n->flags);
        w_i32(w, n->line);
        w_i32(w, n->slot);
        w_i32(w, n->fn);
        w_u32(w, n->num_vfs);
        for (int k = 0; k < 3; k++)
            w_u64(w, n->reserve[k]);
        w_str(w, n->name, BS_NAME_MAX - 1);
        w_str(w, n->model, BS_MODEL_MAX - 1);
        unsigned mask = 0;
        for (int s = 0; s < BS_NSLOTS; s++) {
            const struct bs_res *r = &n->res[s];
            if (r->size || r->flags || r->addr || r->fixed || r->align ||
                r->rebar || r->want || r->win != BS_WIN_NONE || r->line)
                mask |= 1u << s;
        }
        w_u16(w, mask);
        for (int s = 0; s < BS_NSLOTS; s++) {
            if (!(mask & (1u << s)))
                continue;
            const struct bs_res *r = &n->res[s];
            w_u32(w, r->flags);
            w_u64(w, r->size);
            w_u64(w, r->align);
            w_u64(w, r->addr);
            w_u64(w, r->fixed);
            w_u64(w, r->rebar);
            w_u64(w, r->want);
            w_i32(w, r->win);
            w_i32(w, r->line);
        }
    }
    w_u32(w, (uint32_t)t->nfail);
    for (int i = 0; i < t->nfail; i++) {
        const bs_failure *f = &t->fail[i];
        w_i32(w, f->node);
        w_i32(w, f->slot);
        w_u64(w, f->size);
        w_u64(w, f->align);
        w_i32(w, f->win_node);
        w_i32(w, f->win);
        w_u64(w, f->shortfall);
        w_u8(w, f->optional ? 1 : 0);
        w_str(w, f->reason, sizeof f->reason - 1);
    }
    /* Hyper-V (docs/hyperv.md), after everything else and only on that
     * platform: other topologies keep the layout of format 1.0. */
    if (t->platform) {
        w_u32(w, (uint32_t)t->platform);
        w_u64(w, t->fb_base);
        w_u64(w, t->fb_size);
        w_i32(w, t->platform_line);
        w_i32(w, t->fb_line);
        for (int i = 0; i < t->nnodes; i++)
            w_i32(w, t->nodes[i].domain);
    }
}

/* A double as its IEEE 754 bits, little-endian like everything else. */
static void w_f64(struct wr *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    w_u64(w, v);
}

static void w_stats(struct wr *w, const bs_decode_stats *st)
{
    const uint64_t u[11] = {st->cfg_reads, st->cfg_writes, st->decode_off,
                            st->decode_on, st->toggles, st->maps, st->unmaps,
                            st->bytes_mapped, st->bytes_unmapped,
                            st->pages_mapped, st->pages_unmapped};
    for (int i = 0; i < 11; i++)
        w_u64(w, u[i]);
    w_f64(w, st->seconds);
    w_f64(w, st->toggle_seconds);
}

static void w_vm(struct wr *w, const bs_vm *vm)
{
    const bs_vm_opts *o = &vm->o;
    w_u8(w, (unsigned)o->policy);
    /* bit 0: bridge_windows, bit 1: qemu_switch_reset */
    w_u8(w, (o->bridge_windows ? 1u : 0u) | (o->qemu_switch_reset ? 2u : 0u));
    w_u8(w, o->lock_bars_while_decoding ? 1 : 0);
    w_u16(w, o->initial_command & 0xffff);
    w_f64(w, o->cost.fixed);
    w_f64(w, o->cost.per_4k);
    w_f64(w, o->cost.per_2m);
    w_f64(w, o->cost.per_1g);
    w_stats(w, &vm->tot);
    w_u32(w, (uint32_t)vm->n);
    for (int i = 1; i < vm->n; i++) {
        const struct vm_fn *f = &vm->f[i];
        w_u8(w, f->bus);
        w_u8(w, f->dev);
        w_u8(w, f->fn);
        w_bytes(w, f->cfg, VM_HDR);
        for (int b = 0; b < VM_NBAR; b++)
            w_u32(w, f->raw[b]);
        w_u8(w, (unsigned)f->nrebar);
        for (int k = 0; k < f->nrebar; k++)
            w_u32(w, f->rebar_ctrl[k]);
        for (int b = 0; b < VM_NBAR; b++) {
            const struct vm_map *m = &f->m[b];
            w_u8(w, (m->mapped ? 1u : 0u) | (m->held ? 2u : 0u) |
                        (m->tog_valid ? 4u : 0u));
            w_u64(w, m->gpa);
            w_u64(w, m->size);
            w_u64(w, m->tog_gpa);
            w_u64(w, m->tog_size);
        }
        w_u8(w, f->had_off ? 1 : 0);
        w_stats(w, &f->st);
    }
}

static void w_steps(struct wr *w, const bs_pending_plan *pp)
{
    w_u32(w, (uint32_t)pp->nsteps);
    w_u32(w, (uint32_t)pp->next);
    for (int i = 0; i < pp->nsteps; i++) {
        const bs_step *s = &pp->steps[i];
        w_u8(w, (unsigned)s->kind);
        w_i32(w, s->node);
        w_u16(w, s->reg);
        w_u8(w, s->width);
        w_u32(w, s->value);
        w_str(w, s->what, STEP_WHAT_MAX);
    }
}

int bs_snapshot_save(const bs_state *st, unsigned char **buf, size_t *len,
                     bs_error *err)
{
    if (!st || !st->topo || !buf || !len) {
        bs_seterr(err, BS_EINVAL, NULL, 0, 0,
                  "snapshot: a state with a topology is required");
        return BS_EINVAL;
    }
    const bs_pending_plan *pp = st->plan;
    if (pp && (!pp->before || !pp->after || pp->nsteps < 0 ||
               (pp->nsteps && !pp->steps) || pp->next < 0 ||
               pp->next > pp->nsteps)) {
        bs_seterr(err, BS_EINVAL, NULL, 0, 0,
                  "snapshot: the pending plan is incomplete (before, after, "
                  "steps and 0 <= next <= nsteps are required)");
        return BS_EINVAL;
    }
    if (st->vm && (bs_vm_topo(st->vm) != st->topo ||
                   st->vm->n != st->topo->nnodes)) {
        bs_seterr(err, BS_EINVAL, NULL, 0, 0,
                  "snapshot: the emulated machine is not the one of the "
                  "state's topology");
        return BS_EINVAL;
    }
    struct wr w = {0};
    unsigned char hdr[HDR_LEN] = {0};
    w_bytes(&w, hdr, sizeof hdr);
    uint32_t nsec = 0;
    size_t at = sec_begin(&w, TAG_TOPO, SEC_REQUIRED);
    w_topo(&w, st->topo);
    sec_end(&w, at);
    nsec++;
    bool translates = false;
    for (int i = 0; i < st->topo->nwin; i++)
        translates |= st->topo->win[i].offset != 0;
    if (translates) {
        /* Required: a reader that drops it would misplace every BAR. */
        at = sec_begin(&w, TAG_WBUS, SEC_REQUIRED);
        w_u32(&w, (uint32_t)st->topo->nwin);
        for (int i = 0; i < st->topo->nwin; i++)
            w_u64(&w, st->topo->win[i].offset);
        sec_end(&w, at);
        nsec++;
    }
    if (st->vm) {
        at = sec_begin(&w, TAG_VMCF, SEC_REQUIRED);
        w_vm(&w, st->vm);
        sec_end(&w, at);
        nsec++;
    }
    if (pp) {
        at = sec_begin(&w, TAG_PLNB, SEC_REQUIRED);
        w_topo(&w, pp->before);
        sec_end(&w, at);
        at = sec_begin(&w, TAG_PLNA, SEC_REQUIRED);
        w_topo(&w, pp->after);
        sec_end(&w, at);
        at = sec_begin(&w, TAG_PLNS, SEC_REQUIRED);
        w_steps(&w, pp);
        sec_end(&w, at);
        nsec += 3;
    }
    if (w.oom) {
        free(w.b);
        bs_seterr(err, BS_ENOMEM, NULL, 0, 0, "snapshot: out of memory");
        return BS_ENOMEM;
    }
    memcpy(w.b, MAGIC, 8);
    put_le(w.b + 8, BS_SNAPSHOT_MAJOR, 2);
    put_le(w.b + 10, BS_SNAPSHOT_MINOR, 2);
    put_le(w.b + 12, nsec, 4);
    put_le(w.b + 16, w.n, 8);
    put_le(w.b + 24, crc32_buf(0, w.b, 24), 4);
    *buf = w.b;
    *len = w.n;
    return BS_OK;
}

/* ------------------------------------------------------------- reader */

struct rd {
    const unsigned char *b; /* whole snapshot: offsets are absolute */
    size_t off, end;        /* cursor and end of the current section */
    bs_error *err;
    const char *file;
    const char *sec;        /* tag of the section, for messages */
    int rc;                 /* first error, sticky */
};

static int rfail(struct rd *r, int code, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int rfail(struct rd *r, int code, size_t off, const char *fmt, ...)
{
    if (r->rc)
        return r->rc;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->sec)
        bs_seterr(r->err, code, r->file, 0, 0, "byte %zu (%s section): %s",
                  off, r->sec, msg);
    else
        bs_seterr(r->err, code, r->file, 0, 0, "byte %zu: %s", off, msg);
    r->rc = code;
    return code;
}

static bool need(struct rd *r, size_t n, const char *what)
{
    if (r->rc)
        return false;
    if (r->end - r->off < n) {
        rfail(r, BS_EPARSE, r->off,
              "truncated: expected %zu bytes of %s, %zu left in the section",
              n, what, r->end - r->off);
        return false;
    }
    return true;
}

static uint64_t r_uint(struct rd *r, int bytes, const char *what)
{
    if (!need(r, (size_t)bytes, what))
        return 0;
    uint64_t v = get_le(r->b + r->off, bytes);
    r->off += (size_t)bytes;
    return v;
}

static unsigned r_u8(struct rd *r, const char *w) { return (unsigned)r_uint(r, 1, w); }
static unsigned r_u16(struct rd *r, const char *w) { return (unsigned)r_uint(r, 2, w); }
static uint32_t r_u32(struct rd *r, const char *w) { return (uint32_t)r_uint(r, 4, w); }
static uint64_t r_u64(struct rd *r, const char *w) { return r_uint(r, 8, w); }
static int r_i32(struct rd *r, const char *w)
{
    uint32_t v = r_u32(r, w);
    return v <= (uint32_t)INT32_MAX ? (int)v : -(int)(int32_t)~v - 1;
}

/* A string of printable ASCII, at most max bytes, into dst (max + 1). */
static bool r_str(struct rd *r, char *dst, size_t max, bool allow_empty,
                  const char *what)
{
    size_t at = r->off;
    unsigned n = r_u16(r, what);
    if (r->rc)
        return false;
    if (n > max) {
        rfail(r, BS_EPARSE, at, "%s: expected a length of at most %zu, got %u",
              what, max, n);
        return false;
    }
    if (!n && !allow_empty) {
        rfail(r, BS_EPARSE, at, "%s: expected a non-empty string", what);
        return false;
    }
    if (!need(r, n, what))
        return false;
    for (unsigned i = 0; i < n; i++) {
        unsigned char c = r->b[r->off + i];
        if (c < 0x20 || c > 0x7e) {
            rfail(r, BS_EPARSE, r->off + i,
                  "%s: expected printable ASCII, got byte 0x%02x", what, c);
            return false;
        }
    }
    memcpy(dst, r->b + r->off, n);
    dst[n] = 0;
    r->off += n;
    return true;
}

/* A count whose items take at least `min_bytes` each: refused before any
 * allocation when the section cannot hold that many. */
static bool r_count(struct rd *r, uint32_t *out, uint32_t limit,
                    size_t min_bytes, const char *what)
{
    size_t at = r->off;
    uint32_t n = r_u32(r, what);
    if (r->rc)
        return false;
    if (n > limit) {
        rfail(r, BS_ELIMIT, at, "%s: %u exceeds the limit of %u", what, n,
              limit);
        return false;
    }
    if ((r->end - r->off) / min_bytes < n) {
        rfail(r, BS_EPARSE, at,
              "%s: %u items cannot fit in the %zu bytes left in the section",
              what, n, r->end - r->off);
        return false;
    }
    *out = n;
    return true;
}

/* ------------------------------------------------- topology validation */

static bool no_wrap(uint64_t base, uint64_t size)
{
    return size && bs_last(base, size) >= base;
}

/* One resource slot of node id, read at `at`. */
static int check_res(struct rd *r, const bs_topo *t, int id, int s, size_t at)
{
    const struct bs_node *n = &t->nodes[id];
    const struct bs_res *x = &n->res[s];
    const char *nm = n->name, *sn = bs_slot_name(s);
    bool win = bs_slot_is_window(s);
    bool vf = s >= BS_SLOT_VF0 && s < BS_SLOT_VF0 + 6;
    if (x->flags & ~(uint32_t)RF_KNOWN)
        return rfail(r, BS_EPARSE, at, "%s %s: unknown resource flags 0x%x",
                     nm, sn, x->flags & ~(uint32_t)RF_KNOWN);
    if (n->kind == BS_NODE_ROOT)
        return rfail(r, BS_EPARSE, at,
                     "the host bridge has no resource slots (got %s)", sn);
    if (win && n->kind != BS_NODE_BRIDGE)
        return rfail(r, BS_EPARSE, at, "%s: a %s on a device", nm, sn);
    if (x->flags & BS_RF_UPPER) {
        bool ok_slot = !win && s != BS_SLOT_ROM && s != BS_SLOT_BAR0 &&
                       s != BS_SLOT_VF0 && (n->res[s - 1].flags & BS_RF_MEM64) &&
                       !(n->res[s - 1].flags & BS_RF_UPPER);
        if (!ok_slot || x->flags != BS_RF_UPPER || x->size || x->addr ||
            x->fixed || x->align || x->rebar || x->want)
            return rfail(r, BS_EPARSE, at,
                         "%s %s: an upper-half slot must follow a 64-bit BAR "
                         "and hold nothing else", nm, sn);
        return BS_OK;
    }
    if ((x->flags & BS_RF_MEM64) && !win) {
        bool ok = s != BS_SLOT_ROM && s != BS_SLOT_BAR0 + 5 &&
                  s != BS_SLOT_VF0 + 5 && (n->res[s + 1].flags & BS_RF_UPPER);
        if (!ok)
            return rfail(r, BS_EPARSE, at,
                         "%s %s: a 64-bit BAR must be followed by its upper "
                         "half", nm, sn);
    }
    if ((x->flags & BS_RF_IO) && (x->flags & (BS_RF_MEM64 | BS_RF_PREF)))
        return rfail(r, BS_EPARSE, at, "%s %s: I/O with memory flags", nm, sn);
    if (!x->size) {
        /* An empty slot may keep its placement bookkeeping cleared only. */
        if ((x->flags & (BS_RF_ASSIGNED | BS_RF_FIXED | BS_RF_REDUCED)) ||
            ((x->flags & BS_RF_MEM64) && !win))
            return rfail(r, BS_EPARSE, at,
                         "%s %s: expected a size for a slot flagged "
                         "assigned, fixed, reduced or 64-bit", nm, sn);
        /* Unassigning restores a BAR to its requested size, so an empty
         * BAR that requests one would come back as a BAR no one sized. */
        if (!win && x->want)
            return rfail(r, BS_EPARSE, at,
                         "%s %s: an empty BAR requests 0x%llx bytes", nm, sn,
                         (unsigned long long)x->want);
        return BS_OK;
    }
    if (!win && ((x->flags & BS_RF_REDUCED)
                     ? x->want <= x->size || (!vf && !bs_is_pow2(x->want))
                     : x->want && x->want != x->size))
        return rfail(r, BS_EPARSE, at,
                     "%s %s: requested size 0x%llx does not fit size 0x%llx%s",
                     nm, sn, (unsigned long long)x->want,
                     (unsigned long long)x->size,
                     (x->flags & BS_RF_REDUCED)
                         ? " (a reduced BAR requests a larger power of two)"
                         : " (only a reduced BAR requests another size)");
    if (win ? (x->align && !bs_is_pow2(x->align)) : !bs_is_pow2(x->align))
        return rfail(r, BS_EPARSE, at,
                     "%s %s: expected a power-of-two alignment, got 0x%llx",
                     nm, sn, (unsigned long long)x->align);
    if (vf && !n->num_vfs)
        return rfail(r, BS_EPARSE, at, "%s %s: VF BAR on a device without VFs",
                     nm, sn);
    if ((x->flags & BS_RF_ASSIGNED) && !no_wrap(x->addr, x->size))
        return rfail(r, BS_EPARSE, at,
                     "%s %s: range 0x%llx+0x%llx wraps past 2^64", nm, sn,
                     (unsigned long long)x->addr, (unsigned long long)x->size);
    if ((x->flags & BS_RF_FIXED) && !no_wrap(x->fixed, x->size))
        return rfail(r, BS_EPARSE, at,
                     "%s %s: fixed range 0x%llx+0x%llx wraps past 2^64", nm,
                     sn, (unsigned long long)x->fixed,
                     (unsigned long long)x->size);
    return BS_OK;
}

/* After every node is read: parent, child links, depth, names. */
static int check_tree(struct rd *r, bs_topo *t, const size_t *node_at)
{
    int n = t->nnodes;
    struct bs_node *root = &t->nodes[0];
    if (root->kind != BS_NODE_ROOT || root->parent != -1 ||
        root->next_sibling != -1)
        return rfail(r, BS_EPARSE, node_at[0],
                     "node 0: expected the host bridge (kind 0, parent -1, "
                     "no sibling)");
    for (int i = 1; i < n; i++) {
        struct bs_node *x = &t->nodes[i];
        if (x->kind != BS_NODE_BRIDGE && x->kind != BS_NODE_DEVICE)
            return rfail(r, BS_EPARSE, node_at[i],
                         "node %d: expected kind 1 (bridge) or 2 (device), "
                         "got %d", i, x->kind);
        if (x->parent < 0 || x->parent >= i)
            return rfail(r, BS_EPARSE, node_at[i] + NODE_PARENT,
                         "node %d: expected a parent id below %d, got %d", i,
                         i, x->parent);
        if (t->nodes[x->parent].kind == BS_NODE_DEVICE)
            return rfail(r, BS_EPARSE, node_at[i] + NODE_PARENT,
                         "node %d: its parent %d is a device", i, x->parent);
        x->depth = t->nodes[x->parent].depth + 1;
        if (x->depth > BS_MAX_DEPTH)
            return rfail(r, BS_ELIMIT, node_at[i] + NODE_PARENT,
                         "node %d: nesting deeper than %d levels", i,
                         BS_MAX_DEPTH);
    }
    for (int i = 0; i < n; i++) {
        const struct bs_node *x = &t->nodes[i];
        if (x->first_child < -1 || x->first_child >= n ||
            x->next_sibling < -1 || x->next_sibling >= n ||
            x->last_child < -1 || x->last_child >= n)
            return rfail(r, BS_EPARSE, node_at[i] + NODE_FIRST,
                         "node %d: child or sibling link out of range", i);
    }
    /* Every list visits children of its owner only, each node once: the
     * visit count bounds the walk even when the links form a cycle. */
    char *seen = calloc((size_t)(unsigned)n, 1);
    if (!seen)
        return rfail(r, BS_ENOMEM, node_at[0], "out of memory");
    int visited = 0;
    int rc = BS_OK;
    for (int p = 0; p < n && !rc; p++) {
        int last = -1;
        for (int c = t->nodes[p].first_child; c >= 0;
             c = t->nodes[c].next_sibling) {
            if (t->nodes[c].parent != p || seen[c]) {
                rc = rfail(r, BS_EPARSE, node_at[p] + NODE_FIRST,
                           "node %d: its child list reaches node %d, which "
                           "is %s", p, c,
                           seen[c] ? "already listed" : "not its child");
                break;
            }
            seen[c] = 1;
            visited++;
            last = c;
        }
        if (!rc && t->nodes[p].last_child != last)
            rc = rfail(r, BS_EPARSE, node_at[p] + NODE_LAST,
                       "node %d: last child is %d, its list ends at %d", p,
                       t->nodes[p].last_child, last);
    }
    if (!rc && visited != n - 1) {
        for (int i = 1; i < n; i++)
            if (!seen[i]) {
                rc = rfail(r, BS_EPARSE, node_at[i] + NODE_PARENT,
                           "node %d is missing from its parent's child list",
                           i);
                break;
            }
    }
    free(seen);
    if (rc)
        return rc;
    /* Names are unique: lookups by name (bs_topo_find, events) rely on it. */
    int dup;
    if (bs_topo_reindex(t, &dup))
        return rfail(r, BS_ENOMEM, node_at[0], "out of memory");
    if (dup >= 0)
        rc = rfail(r, BS_EPARSE, node_at[dup] + NODE_NAME,
                   "node %d: name '%s' is already used by node %d", dup,
                   t->nodes[dup].name, bs_topo_find(t, t->nodes[dup].name));
    return rc;
}

static int r_windows(struct rd *r, bs_topo *t)
{
    uint32_t nw;
    if (!r_count(r, &nw, BS_MAX_ROOT_WINDOWS, WIN_BYTES, "root window count"))
        return r->rc;
    for (uint32_t i = 0; i < nw; i++) {
        size_t wat = r->off;
        struct bs_rootwin *w = &t->win[i];
        w->flags = r_u32(r, "window flags");
        w->base = r_u64(r, "window base");
        w->size = r_u64(r, "window size");
        w->line = r_i32(r, "window line");
        if (r->rc)
            return r->rc;
        if (w->flags & ~(uint32_t)(BS_RF_IO | BS_RF_PREF))
            return rfail(r, BS_EPARSE, wat,
                         "root window %u: expected flags io/pref only, got "
                         "0x%x", i, w->flags);
        if ((w->flags & BS_RF_IO) && (w->flags & BS_RF_PREF))
            return rfail(r, BS_EPARSE, wat,
                         "root window %u: an I/O window cannot be "
                         "prefetchable", i);
        if (!no_wrap(w->base, w->size))
            return rfail(r, BS_EPARSE, wat + 4,
                         "root window %u: expected a non-empty range below "
                         "2^64, got 0x%llx+0x%llx", i,
                         (unsigned long long)w->base,
                         (unsigned long long)w->size);
        for (uint32_t j = 0; j < i; j++) {
            const struct bs_rootwin *o = &t->win[j];
            if (((o->flags ^ w->flags) & BS_RF_IO) == 0 &&
                w->base <= bs_last(o->base, o->size) &&
                o->base <= bs_last(w->base, w->size))
                return rfail(r, BS_EPARSE, wat + 4,
                             "root window %u overlaps root window %u", i, j);
        }
        t->nwin = (int)i + 1;
    }
    return BS_OK;
}

static int r_node(struct rd *r, bs_topo *t, int id)
{
    struct bs_node *n = &t->nodes[id];
    memset(n, 0, sizeof *n);
    size_t at = r->off;
    unsigned kind = r_u8(r, "node kind");
    n->kind = (int)kind;
    n->parent = r_i32(r, "parent");
    n->first_child = r_i32(r, "first child");
    n->next_sibling = r_i32(r, "next sibling");
    n->last_child = r_i32(r, "last child");
    size_t fat = r->off;
    n->flags = r_u32(r, "node flags");
    n->line = r_i32(r, "node line");
    size_t sat = r->off;
    n->slot = r_i32(r, "PCI slot");
    n->fn = r_i32(r, "PCI function");
    size_t vat = r->off;
    n->num_vfs = r_u32(r, "VF count");
    for (int k = 0; k < 3; k++)
        n->reserve[k] = r_u64(r, "hot-plug reserve");
    if (r->rc)
        return r->rc;
    if (kind > BS_NODE_DEVICE)
        return rfail(r, BS_EPARSE, at, "node %d: expected kind 0..2, got %u",
                     id, kind);
    if (n->flags & ~(uint32_t)NF_KNOWN)
        return rfail(r, BS_EPARSE, fat, "node %d: unknown flags 0x%x", id,
                     n->flags & ~(uint32_t)NF_KNOWN);
    if (n->slot < -1 || n->slot > 31 || n->fn < -1 || n->fn > 7)
        return rfail(r, BS_EPARSE, sat,
                     "node %d: expected PCI slot -1..31 and function -1..7, "
                     "got %d.%d", id, n->slot, n->fn);
    if (n->num_vfs > BS_MAX_VFS || (n->num_vfs && kind == BS_NODE_ROOT))
        return rfail(r, BS_EPARSE, vat,
                     "node %d: expected a VF count 0..65535 (none on the host "
                     "bridge), got %u", id, n->num_vfs);
    if (!r_str(r, n->name, BS_NAME_MAX - 1, false, "node name") ||
        !r_str(r, n->model, BS_MODEL_MAX - 1, true, "device model"))
        return r->rc;
    unsigned mask = r_u16(r, "slot mask");
    if (r->rc)
        return r->rc;
    size_t res_at[BS_NSLOTS] = {0};
    for (int s = 0; s < BS_NSLOTS; s++) {
        struct bs_res *x = &n->res[s];
        x->win = BS_WIN_NONE;
        if (!(mask & (1u << s)))
            continue;
        res_at[s] = r->off;
        x->flags = r_u32(r, "resource flags");
        x->size = r_u64(r, "resource size");
        x->align = r_u64(r, "resource alignment");
        x->addr = r_u64(r, "resource address");
        x->fixed = r_u64(r, "fixed address");
        x->rebar = r_u64(r, "Resizable BAR sizes");
        x->want = r_u64(r, "requested size");
        x->win = r_i32(r, "placement window");
        x->line = r_i32(r, "resource line");
        if (r->rc)
            return r->rc;
    }
    /* Slots are checked once all are read: a 64-bit BAR needs the next. */
    for (int s = 0; s < BS_NSLOTS; s++)
        if ((mask & (1u << s)) && check_res(r, t, id, s, res_at[s]))
            return r->rc;
    return BS_OK;
}

static int r_failures(struct rd *r, bs_topo *t)
{
    uint32_t nf;
    if (!r_count(r, &nf, (uint32_t)BS_MAX_NODES * BS_NSLOTS, MIN_FAIL_BYTES,
                 "failure count"))
        return r->rc;
    if (nf) {
        t->fail = calloc(nf, sizeof *t->fail);
        if (!t->fail)
            return rfail(r, BS_ENOMEM, r->off, "out of memory");
        t->failcap = (int)nf;
    }
    for (uint32_t i = 0; i < nf; i++) {
        bs_failure *f = &t->fail[i];
        size_t at = r->off;
        f->node = r_i32(r, "failure node");
        f->slot = r_i32(r, "failure slot");
        f->size = r_u64(r, "failure size");
        f->align = r_u64(r, "failure alignment");
        f->win_node = r_i32(r, "failure window node");
        f->win = r_i32(r, "failure window");
        f->shortfall = r_u64(r, "failure shortfall");
        unsigned opt = r_u8(r, "failure optional flag");
        if (r->rc)
            return r->rc;
        if (f->node < 1 || f->node >= t->nnodes || f->slot < 0 ||
            f->slot >= BS_NSLOTS)
            return rfail(r, BS_EPARSE, at,
                         "failure %u: expected a node 1..%d and slot 0..%d, "
                         "got %d/%d", i, t->nnodes - 1, BS_NSLOTS - 1,
                         f->node, f->slot);
        if (f->win_node < 0 || f->win_node >= t->nnodes || f->win < -1 ||
            f->win >= (f->win_node ? BS_NSLOTS : t->nwin) ||
            (f->win_node && f->win >= 0 && !bs_slot_is_window(f->win)))
            return rfail(r, BS_EPARSE, at + 24,
                         "failure %u: window %d of node %d does not exist", i,
                         f->win, f->win_node);
        if (opt > 1)
            return rfail(r, BS_EPARSE, at + 40,
                         "failure %u: expected 0 or 1 for optional, got %u", i,
                         opt);
        f->optional = (int)opt;
        if (!r_str(r, f->reason, sizeof f->reason - 1, true, "failure reason"))
            return r->rc;
        t->nfail = (int)i + 1;
    }
    return BS_OK;
}

/* A TOPO-like section payload [r->off, r->end) into a new topology. */
/* The Hyper-V trailer of a topology (w_topo). */
static int r_hyperv(struct rd *r, bs_topo *t)
{
    size_t at = r->off;
    uint32_t p = r_u32(r, "platform");
    uint64_t fb = r_u64(r, "framebuffer base"), fs = r_u64(r, "framebuffer size");
    int pl = r_i32(r, "platform line"), fl = r_i32(r, "framebuffer line");
    if (r->rc)
        return r->rc;
    if (p != 1 || (fs && (fs < BS_MIB || bs_last(fb, fs) < fb)))
        return rfail(r, BS_EPARSE, at, "platform %u with framebuffer "
                     "0x%llx+0x%llx: not a Hyper-V platform record", p,
                     (unsigned long long)fb, (unsigned long long)fs);
    t->platform = (int)p;
    t->fb_base = fb;
    t->fb_size = fs;
    t->platform_line = pl;
    t->fb_line = fl;
    for (int i = 0; i < t->nnodes; i++) {
        size_t dat = r->off;
        int d = r_i32(r, "domain");
        if (r->rc)
            return r->rc;
        if (d < 0 || d > 0xffff || (d && !(t->nodes[i].flags & BS_NF_VPCI)))
            return rfail(r, BS_EPARSE, dat, "node %d: domain %d (0..65535, "
                         "vPCI buses only)", i, d);
        t->nodes[i].domain = d;
    }
    return BS_OK;
}

static int r_topo(struct rd *r, bs_topo **out)
{
    char name[64];
    if (!r_str(r, name, sizeof name - 1, true, "topology name"))
        return r->rc;
    bs_topo *t = bs_topo_new(name);
    if (!t)
        return rfail(r, BS_ENOMEM, r->off, "out of memory");
    size_t *node_at = NULL;
    int rc = r_windows(r, t);
    uint32_t nn = 0;
    size_t nat = r->off;
    if (!rc && !r_count(r, &nn, BS_MAX_NODES, MIN_NODE_BYTES, "node count"))
        rc = r->rc;
    if (!rc && nn < 1)
        rc = rfail(r, BS_EPARSE, nat,
                   "expected at least one node (the host bridge)");
    if (!rc) {
        struct bs_node *nodes = malloc(sizeof *nodes * nn);
        node_at = malloc(sizeof *node_at * nn);
        if (!nodes || !node_at) {
            free(nodes);
            rc = rfail(r, BS_ENOMEM, nat, "out of memory");
        } else {
            free(t->nodes);
            t->nodes = nodes;
            t->cap = (int)nn;
            t->nnodes = 0;
        }
    }
    for (uint32_t i = 0; !rc && i < nn; i++) {
        node_at[i] = r->off;
        rc = r_node(r, t, (int)i);
        t->nnodes = (int)i + 1;
    }
    if (!rc)
        rc = check_tree(r, t, node_at);
    /* Placement windows refer to the parent: checked once parents are. */
    for (int i = 1; !rc && i < t->nnodes; i++)
        for (int s = 0; !rc && s < BS_NSLOTS; s++) {
            int w = t->nodes[i].res[s].win;
            if (w != BS_WIN_NONE && (t->nodes[i].parent == 0
                                         ? w < 0 || w >= t->nwin
                                         : !bs_slot_is_window(w)))
                rc = rfail(r, BS_EPARSE, node_at[i],
                           "node %d %s: placement window %d does not exist",
                           i, bs_slot_name(s), w);
        }
    if (!rc)
        rc = r_failures(r, t);
    if (!rc && r->off != r->end)
        rc = r_hyperv(r, t);
    if (!rc && r->off != r->end)
        rc = rfail(r, BS_EPARSE, r->off,
                   "expected the end of the section, %zu bytes remain",
                   r->end - r->off);
    free(node_at);
    if (rc) {
        bs_topo_free(t);
        return rc;
    }
    *out = t;
    return BS_OK;
}

static int r_steps(struct rd *r, bs_pending_plan *pp)
{
    uint32_t ns;
    if (!r_count(r, &ns, MAX_STEPS, MIN_STEP_BYTES, "step count"))
        return r->rc;
    size_t at = r->off;
    uint32_t next = r_u32(r, "next step");
    if (r->rc)
        return r->rc;
    if (next > ns)
        return rfail(r, BS_EPARSE, at,
                     "expected the next step to be 0..%u, got %u", ns, next);
    pp->steps = calloc(ns ? ns : 1, sizeof *pp->steps);
    if (!pp->steps)
        return rfail(r, BS_ENOMEM, at, "out of memory");
    pp->nsteps = (int)ns;
    pp->next = (int)next;
    int nn = pp->after->nnodes;
    for (uint32_t i = 0; i < ns; i++) {
        bs_step *s = &pp->steps[i];
        size_t sat = r->off;
        s->kind = (int)r_u8(r, "step kind");
        s->node = r_i32(r, "step node");
        s->reg = r_u16(r, "step register");
        s->width = r_u8(r, "step width");
        s->value = r_u32(r, "step value");
        if (r->rc)
            return r->rc;
        if (s->kind < BS_STEP_QUIESCE || s->kind > BS_STEP_RESUME)
            return rfail(r, BS_EPARSE, sat,
                         "step %u: expected kind 1..3, got %d", i, s->kind);
        if (s->node < 1 || s->node >= nn)
            return rfail(r, BS_EPARSE, sat + 1,
                         "step %u: expected a node 1..%d, got %d", i, nn - 1,
                         s->node);
        if (s->kind == BS_STEP_WRITE &&
            ((s->width != 1 && s->width != 2 && s->width != 4) ||
             s->reg % s->width || s->reg + s->width > 4096 ||
             (s->width < 4 && s->value >> (8 * s->width))))
            return rfail(r, BS_EPARSE, sat + 5,
                         "step %u: expected an aligned config write of 1, 2 "
                         "or 4 bytes below 4096 with a value that fits, got "
                         "%u bytes at 0x%x = 0x%x", i, s->width, s->reg,
                         s->value);
        if (!r_str(r, s->what, STEP_WHAT_MAX, true, "step description"))
            return r->rc;
    }
    if (r->off != r->end)
        return rfail(r, BS_EPARSE, r->off,
                     "expected the end of the section, %zu bytes remain",
                     r->end - r->off);
    return BS_OK;
}

static double r_f64(struct rd *r, const char *what)
{
    uint64_t v = r_u64(r, what);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static void r_stats(struct rd *r, bs_decode_stats *st)
{
    uint64_t u[11];
    for (int i = 0; i < 11; i++)
        u[i] = r_u64(r, "decode counter");
    st->cfg_reads = u[0];
    st->cfg_writes = u[1];
    st->decode_off = u[2];
    st->decode_on = u[3];
    st->toggles = u[4];
    st->maps = u[5];
    st->unmaps = u[6];
    st->bytes_mapped = u[7];
    st->bytes_unmapped = u[8];
    st->pages_mapped = u[9];
    st->pages_unmapped = u[10];
    st->seconds = r_f64(r, "modeled seconds");
    st->toggle_seconds = r_f64(r, "modeled toggle seconds");
}

/* The emulated machine of topology t.  It is rebuilt from t with the saved
 * options (which fixes every BAR's kind, size and writable bits and the
 * identity defaults), then the saved register files, mappings and counters
 * are laid over it; every read-only bit must be what the topology implies,
 * and the result must pass bs_vm_check. */
static int r_vm(struct rd *r, bs_topo *t, bs_vm **out)
{
    size_t at = r->off;
    bs_vm_opts o;
    bs_vm_opts_init(&o);
    unsigned pol = r_u8(r, "host policy");
    unsigned bw = r_u8(r, "bridge_windows");
    unsigned lock = r_u8(r, "lock_bars_while_decoding");
    o.initial_command = r_u16(r, "initial command");
    o.cost.fixed = r_f64(r, "cost model");
    o.cost.per_4k = r_f64(r, "cost model");
    o.cost.per_2m = r_f64(r, "cost model");
    o.cost.per_1g = r_f64(r, "cost model");
    bs_decode_stats tot;
    r_stats(r, &tot);
    if (r->rc)
        return r->rc;
    if (pol > BS_HOST_DEFERRED || bw > 3 || lock > 1)
        return rfail(r, BS_EPARSE, at,
                     "expected policy 0..1, window flags 0..3 and lock 0..1, "
                     "got %u/%u/%u", pol, bw, lock);
    o.policy = (int)pol;
    o.bridge_windows = (int)(bw & 1);
    o.qemu_switch_reset = (int)(bw >> 1);
    o.lock_bars_while_decoding = (int)lock;
    size_t nat = r->off;
    uint32_t n = r_u32(r, "function count");
    if (r->rc)
        return r->rc;
    if (n != (uint32_t)t->nnodes)
        return rfail(r, BS_EPARSE, nat,
                     "expected %d functions (the topology's nodes), got %u",
                     t->nnodes, n);
    if ((r->end - r->off) / MIN_FN_BYTES < n - 1)
        return rfail(r, BS_EPARSE, nat,
                     "%u functions cannot fit in the %zu bytes left", n,
                     r->end - r->off);
    bs_vm *vm = NULL;
    bs_error ve = {0};
    int rc = bs_vm_new(t, &o, &vm, &ve);
    if (rc)
        return rfail(r, rc == BS_ENOMEM ? BS_ENOMEM : BS_EPARSE, at,
                     "the topology cannot be emulated: %s", ve.msg);
    /* Bus/device/function must stay unique: one bit per address. */
    unsigned char *used = calloc(1 << 13, 1);
    if (!used) {
        bs_vm_free(vm);
        return rfail(r, BS_ENOMEM, at, "out of memory");
    }
    for (int i = 1; i < vm->n && !rc; i++) {
        struct vm_fn *f = &vm->f[i];
        const char *nm = t->nodes[i].name;
        size_t fat = r->off;
        unsigned bus = r_u8(r, "bus"), dev = r_u8(r, "device"),
                 fn = r_u8(r, "function");
        if (r->rc) {
            rc = r->rc;
            break;
        }
        unsigned key = bus << 8 | dev << 3 | fn;
        if (dev > 31 || fn > 7 || (used[key >> 3] >> (key & 7) & 1)) {
            rc = rfail(r, BS_EPARSE, fat,
                       "%s: expected a free bus/device/function, got "
                       "%02x:%02x.%u", nm, bus, dev, fn);
            break;
        }
        used[key >> 3] |= (unsigned char)(1u << (key & 7));
        f->bus = bus;
        f->dev = dev;
        f->fn = fn;
        size_t cat = r->off;
        if (!need(r, VM_HDR, "config header")) {
            rc = r->rc;
            break;
        }
        const unsigned char *cfg = r->b + r->off;
        r->off += VM_HDR;
        bs_cfg_ids ids;
        ids.vendor = (uint16_t)get_le(cfg + 0x00, 2);
        ids.device = (uint16_t)get_le(cfg + 0x02, 2);
        ids.revision = cfg[0x08];
        ids.class_code = (uint32_t)get_le(cfg + 0x09, 3);
        ids.int_pin = cfg[0x3d];
        ids.subsys_vendor = (uint16_t)get_le(cfg + 0x2c, 2);
        ids.subsys = (uint16_t)get_le(cfg + 0x2e, 2);
        if (bs_vm_set_ids(vm, i, &ids) != BS_OK) {
            rc = rfail(r, BS_EPARSE, cat, "%s: expected a vendor ID other "
                       "than 0xffff", nm);
            break;
        }
        for (unsigned b = 0; b < VM_HDR; b++)
            if ((cfg[b] ^ f->cfg[b]) & ~f->wm[b]) {
                rc = rfail(r, BS_EPARSE, cat + b,
                           "%s: config byte 0x%02x is 0x%02x, but its "
                           "read-only bits must be those of 0x%02x (what "
                           "the topology gives)", nm, b, cfg[b], f->cfg[b]);
                break;
            }
        if (rc)
            break;
        memcpy(f->cfg, cfg, VM_HDR);
        for (int b = 0; b < VM_NBAR; b++)
            f->raw[b] = r_u32(r, "BAR latch");
        size_t rat = r->off;
        unsigned nr = r_u8(r, "Resizable BAR count");
        if (!r->rc && nr != (unsigned)f->nrebar) {
            rc = rfail(r, BS_EPARSE, rat,
                       "%s: expected %d Resizable BAR entries, got %u", nm,
                       f->nrebar, nr);
            break;
        }
        for (unsigned k = 0; k < nr && !r->rc; k++) {
            size_t kat = r->off;
            uint32_t e = r_u32(r, "Resizable BAR size");
            if (!r->rc && e != f->rebar_ctrl[k])
                rc = rfail(r, BS_EPARSE, kat,
                           "%s: Resizable BAR %u size field %u disagrees "
                           "with the topology's BAR size (%u)", nm, k, e,
                           f->rebar_ctrl[k]);
        }
        for (int b = 0; b < VM_NBAR && !rc && !r->rc; b++) {
            struct vm_map *m = &f->m[b];
            size_t mat = r->off;
            unsigned fl = r_u8(r, "mapping flags");
            m->gpa = r_u64(r, "mapping address");
            m->size = r_u64(r, "mapping size");
            m->tog_gpa = r_u64(r, "toggle address");
            m->tog_size = r_u64(r, "toggle size");
            if (r->rc)
                break;
            m->mapped = fl & 1;
            m->held = fl & 2;
            m->tog_valid = fl & 4;
            if (fl > 7 || (m->mapped && !no_wrap(m->gpa, m->size)) ||
                (m->tog_valid && !no_wrap(m->tog_gpa, m->tog_size)))
                rc = rfail(r, BS_EPARSE, mat,
                           "%s: mapping %d: expected flags 0..7 and ranges "
                           "below 2^64, got flags %u, 0x%llx+0x%llx", nm, b,
                           fl, (unsigned long long)m->gpa,
                           (unsigned long long)m->size);
        }
        size_t hat = r->off;
        unsigned had = r_u8(r, "decode-off flag");
        if (!rc && !r->rc && had > 1)
            rc = rfail(r, BS_EPARSE, hat, "%s: expected 0 or 1, got %u", nm,
                       had);
        f->had_off = had == 1;
        r_stats(r, &f->st);
        if (!rc)
            rc = r->rc;
    }
    free(used);
    if (!rc && r->off != r->end)
        rc = rfail(r, BS_EPARSE, r->off,
                   "expected the end of the section, %zu bytes remain",
                   r->end - r->off);
    if (!rc) {
        vm->tot = tot;
        vm_index_rebuild(vm);
        char msg[200];
        int bad = bs_vm_check(vm, msg, sizeof msg);
        if (bad)
            rc = rfail(r, bad < 0 ? BS_ENOMEM : BS_EPARSE, at,
                       "the emulated machine is inconsistent (%d problems; "
                       "first: %s)", bad, msg);
    }
    if (rc) {
        bs_vm_free(vm);
        return rc;
    }
    *out = vm;
    return BS_OK;
}

void bs_state_set_callbacks(bs_state *st, bs_map_fn map, bs_map_fn unmap,
                            void *ctx)
{
    if (!st || !st->vm)
        return;
    st->vm->o.map = map;
    st->vm->o.unmap = unmap;
    st->vm->o.ctx = ctx;
}

void bs_pending_free(bs_pending_plan *pp)
{
    if (!pp)
        return;
    bs_topo_free(pp->before);
    bs_topo_free(pp->after);
    free(pp->steps);
    free(pp);
}

void bs_state_free(bs_state *st)
{
    if (!st)
        return;
    bs_vm_free(st->vm);
    bs_topo_free(st->topo);
    bs_pending_free(st->plan);
    st->topo = NULL;
    st->vm = NULL;
    st->plan = NULL;
}

/* The before and after states of a plan describe the same machine: the
 * nodes of before keep their kind, parent and name (a plan moves things;
 * the subject of a hot-add may be a node after has in addition). */
static int check_plan_pair(struct rd *r, const bs_pending_plan *pp,
                           size_t at)
{
    const bs_topo *a = pp->before, *b = pp->after;
    if (b->nnodes < a->nnodes)
        return rfail(r, BS_EPARSE, at,
                     "the plan's after state has %d nodes, fewer than the "
                     "%d of its before state", b->nnodes, a->nnodes);
    for (int i = 0; i < a->nnodes; i++) {
        const struct bs_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->kind != y->kind || x->parent != y->parent ||
            strcmp(x->name, y->name))
            return rfail(r, BS_EPARSE, at,
                         "node %d ('%s') of the plan's before state is not "
                         "node %d of its after state", i, x->name, i);
    }
    return BS_OK;
}

int bs_snapshot_restore(const void *data, size_t len, unsigned flags,
                        bs_state *out, bs_error *err)
{
    struct rd r = {.b = data, .off = 0, .end = len, .err = err};
    if (!out || (!data && len)) {
        bs_seterr(err, BS_EINVAL, NULL, 0, 0, "restore: no input or output");
        return BS_EINVAL;
    }
    if (len < HDR_LEN)
        return rfail(&r, BS_EPARSE, len,
                     "truncated: expected a %d-byte header, the input has %zu "
                     "bytes", HDR_LEN, len);
    if (memcmp(r.b, MAGIC, 8))
        return rfail(&r, BS_EPARSE, 0,
                     "expected the snapshot signature 89 42 53 4e 41 50 0d 0a "
                     "(not a barspace snapshot)");
    if (!(flags & BS_SNAP_NO_CRC)) {
        uint32_t want = (uint32_t)get_le(r.b + 24, 4);
        uint32_t got = crc32_buf(0, r.b, 24);
        if (want != got)
            return rfail(&r, BS_EPARSE, 24,
                         "header checksum 0x%08x does not match its bytes "
                         "(0x%08x): the header is corrupt", want, got);
    }
    unsigned major = (unsigned)get_le(r.b + 8, 2);
    unsigned minor = (unsigned)get_le(r.b + 10, 2);
    if (major != BS_SNAPSHOT_MAJOR)
        return rfail(&r, BS_EPARSE, 8,
                     "expected format version %d.x, got %u.%u", 
                     BS_SNAPSHOT_MAJOR, major, minor);
    uint32_t nsec = (uint32_t)get_le(r.b + 12, 4);
    uint64_t total = get_le(r.b + 16, 8);
    if (total != len)
        return rfail(&r, BS_EPARSE, 16,
                     "the header records %llu bytes but the input has %zu%s",
                     (unsigned long long)total, len,
                     total > len ? " (truncated)" : " (trailing bytes)");
    if (nsec < 1 || nsec > MAX_SECTIONS)
        return rfail(&r, BS_EPARSE, 12,
                     "expected 1..%d sections, got %u", MAX_SECTIONS, nsec);

    bs_state st = {0};
    bs_pending_plan *pp = NULL;
    bool have_plns = false;
    size_t plan_at = 0;
    size_t off = HDR_LEN;
    int rc = BS_OK;
    for (uint32_t i = 0; i < nsec && !rc; i++) {
        r.sec = NULL;
        r.off = off;
        r.end = len;
        if (!need(&r, SEC_HDR_LEN + 4, "a section header")) {
            rc = r.rc;
            break;
        }
        char tag[5];
        memcpy(tag, r.b + off, 4);
        tag[4] = 0;
        uint32_t sflags = (uint32_t)get_le(r.b + off + 4, 4);
        uint64_t plen = get_le(r.b + off + 8, 8);
        for (int k = 0; k < 4; k++)
            if (tag[k] < 0x20 || tag[k] > 0x7e)
                tag[k] = '?';
        if (plen > len - off - SEC_HDR_LEN - 4) {
            rc = rfail(&r, BS_EPARSE, off + 8,
                       "section %u (%s): its length %llu runs past the end "
                       "of the input (%zu bytes left)", i, tag,
                       (unsigned long long)plen, len - off - SEC_HDR_LEN - 4);
            break;
        }
        size_t pend = off + SEC_HDR_LEN + (size_t)plen;
        if (!(flags & BS_SNAP_NO_CRC)) {
            uint32_t want = (uint32_t)get_le(r.b + pend, 4);
            uint32_t got = crc32_buf(0, r.b + off, pend - off);
            if (want != got) {
                rc = rfail(&r, BS_EPARSE, pend,
                           "section %u (%s): checksum 0x%08x does not match "
                           "its bytes (0x%08x): the section is corrupt", i,
                           tag, want, got);
                break;
            }
        }
        if (sflags & ~SEC_REQUIRED) {
            rc = rfail(&r, BS_EPARSE, off + 4,
                       "section %u (%s): unknown section flags 0x%x", i, tag,
                       sflags & ~SEC_REQUIRED);
            break;
        }
        r.sec = tag;
        r.off = off + SEC_HDR_LEN;
        r.end = pend;
        bs_topo **slot = NULL;
        if (!strcmp(tag, TAG_TOPO)) {
            slot = &st.topo;
        } else if (!strcmp(tag, TAG_WBUS)) {
            uint32_t nw;
            if (!st.topo || st.vm) {
                rc = rfail(&r, BS_EPARSE, off, "expected WBUS right after the "
                           "TOPO section");
                break;
            }
            if (!r_count(&r, &nw, BS_MAX_ROOT_WINDOWS, 8, "window count")) {
                rc = r.rc;
                break;
            }
            if ((int)nw != st.topo->nwin) {
                rc = rfail(&r, BS_EPARSE, off, "WBUS has %u windows, the "
                           "topology %d", nw, st.topo->nwin);
                break;
            }
            for (uint32_t k = 0; k < nw && !r.rc; k++) {
                uint64_t o = r_u64(&r, "window bus offset");
                struct bs_rootwin *w = &st.topo->win[k];
                if (!r.rc && o && bs_topo_set_window_bus(st.topo, (int)k,
                                                         w->base - o))
                    rc = rfail(&r, BS_EPARSE, off, "window %u: bus offset "
                               "0x%llx gives no valid bus range", k,
                               (unsigned long long)o);
            }
            if (!rc)
                rc = r.rc;
            off = pend + 4;
            continue;
        } else if (!strcmp(tag, TAG_VMCF)) {
            if (st.vm || !st.topo) {
                rc = rfail(&r, BS_EPARSE, off,
                           st.vm ? "a second VMCF section"
                                 : "expected the TOPO section before VMCF");
                break;
            }
            rc = r_vm(&r, st.topo, &st.vm);
            off = pend + 4;
            continue;
        } else if (!strcmp(tag, TAG_PLNB) || !strcmp(tag, TAG_PLNA) ||
                   !strcmp(tag, TAG_PLNS)) {
            if (!pp && !(pp = calloc(1, sizeof *pp))) {
                rc = rfail(&r, BS_ENOMEM, off, "out of memory");
                break;
            }
            if (!plan_at)
                plan_at = off;
            if (tag[3] == 'B')
                slot = &pp->before;
            else if (tag[3] == 'A')
                slot = &pp->after;
        } else if (sflags & SEC_REQUIRED) {
            rc = rfail(&r, BS_EPARSE, off,
                       "section %u: '%s' is required to understand this "
                       "snapshot and unknown to version %d.%d of the format",
                       i, tag, BS_SNAPSHOT_MAJOR, BS_SNAPSHOT_MINOR);
            break;
        }
        if (slot) {
            if (*slot) {
                rc = rfail(&r, BS_EPARSE, off, "a second %s section", tag);
                break;
            }
            rc = r_topo(&r, slot);
        } else if (!strcmp(tag, TAG_PLNS)) {
            if (have_plns || !pp->before || !pp->after) {
                rc = rfail(&r, BS_EPARSE, off,
                           have_plns ? "a second PLNS section"
                                     : "expected the plan's PLNB and PLNA "
                                       "sections before its steps");
                break;
            }
            have_plns = true;
            rc = r_steps(&r, pp);
        }
        off = pend + 4;
    }
    r.sec = NULL;
    if (!rc && off != len)
        rc = rfail(&r, BS_EPARSE, off,
                   "expected the end of the snapshot after %u sections, %zu "
                   "bytes remain", nsec, len - off);
    if (!rc && !st.topo)
        rc = rfail(&r, BS_EPARSE, HDR_LEN, "expected a TOPO section");
    if (!rc && pp && !have_plns)
        rc = rfail(&r, BS_EPARSE, plan_at,
                   "a pending plan needs its PLNB, PLNA and PLNS sections");
    if (!rc && pp)
        rc = check_plan_pair(&r, pp, plan_at);
    if (!rc && (flags & BS_SNAP_CHECK)) {
        bs_violation v;
        int nv = bs_check(st.topo, NULL, &v, 1);
        if (nv)
            rc = rfail(&r, BS_ESTATE, HDR_LEN,
                       "the restored state fails the checker (%d "
                       "violations; first: %s)", nv, nv > 0 ? v.msg : "?");
    }
    st.plan = pp;
    if (rc) {
        bs_state_free(&st);
        return rc;
    }
    *out = st;
    return BS_OK;
}

/* ---------------------------------------------------------------- files */

int bs_snapshot_save_file(const bs_state *st, const char *path,
                          bs_error *err)
{
    unsigned char *buf;
    size_t len;
    int rc = bs_snapshot_save(st, &buf, &len, err);
    if (rc)
        return rc;
    FILE *f = fopen(path, "wb");
    if (!f) {
        bs_seterr(err, BS_EIO, path, 0, 0, "cannot create: %s",
                  strerror(errno));
        free(buf);
        return BS_EIO;
    }
    bool ok = fwrite(buf, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    free(buf);
    if (!ok) {
        bs_seterr(err, BS_EIO, path, 0, 0, "write failed: %s",
                  strerror(errno));
        return BS_EIO;
    }
    return BS_OK;
}

int bs_snapshot_load_file(const char *path, unsigned flags, bs_state *out,
                          bs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        bs_seterr(err, BS_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
        return BS_EIO;
    }
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = BS_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= BS_SNAPSHOT_MAX_FILE) {
                bs_seterr(err, BS_ELIMIT, path, 0, 0,
                          "larger than the %llu-byte snapshot limit",
                          (unsigned long long)BS_SNAPSHOT_MAX_FILE);
                rc = BS_ELIMIT;
                break;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                bs_seterr(err, BS_ENOMEM, path, 0, 0, "out of memory");
                rc = BS_ENOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                bs_seterr(err, BS_EIO, path, 0, 0, "read failed: %s",
                          strerror(errno));
                rc = BS_EIO;
            }
            break;
        }
    }
    fclose(f);
    if (!rc) {
        rc = bs_snapshot_restore(buf, len, flags, out, err);
        if (rc && err)
            snprintf(err->file, sizeof err->file, "%s", path);
    }
    free(buf);
    return rc;
}
