/*
 * The mapping engine: turns the guest-visible decode state into the VMM's
 * map/unmap calls, under two host policies, and prices every call.
 *
 * Invariant kept by both policies: host mappings never overlap.  A guest
 * can make two decoded BARs overlap (nothing in PCI stops it); the host
 * then maps the first and holds the second back until the conflict ends,
 * the way a memslot-based VMM must, since it cannot install both.
 *
 *   eager:    a mapping exists exactly while its BAR decodes at that range.
 *   deferred: a mapping may outlive its decode ("kept") while the BAR
 *             register still names that range; it goes away when the BAR
 *             decodes somewhere else, when another decoded range needs the
 *             space, or at bs_vm_settle() when the register has moved.
 */
#include "vm/vm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ cost model */

void bs_cost_model_default(bs_cost_model *c)
{
    /* Calibration (docs/boot-cost.md): a 128 GiB BAR at a 128 GiB-aligned
     * address is 128 pages of 1 GiB; unmap + map is two calls:
     *   2 x (fixed + 128 x per_1g) = 1.8 s.
     * With fixed = 100 us, per_1g = (0.9 - 0.0001) / 128 s.  Smaller pages
     * are taken to be half as efficient per byte as the next size up. */
    c->fixed = 1e-4;
    c->per_1g = (0.9 - c->fixed) / 128.0;
    c->per_2m = c->per_1g / 256.0;
    c->per_4k = c->per_2m / 256.0;
}

double bs_cost_of(const bs_cost_model *c, uint64_t gpa, uint64_t size,
                  uint64_t *pages, uint64_t *page_size)
{
    static const uint64_t ps[3] = {BS_GIB, 2 * BS_MIB, 4096};
    double per[3] = {c->per_1g, c->per_2m, c->per_4k};
    int k = 2;
    for (int i = 0; i < 3; i++)
        if (!(gpa % ps[i]) && !(size % ps[i]) && size >= ps[i]) {
            k = i;
            break;
        }
    uint64_t n = size / ps[k] + (size % ps[k] != 0);
    if (pages)
        *pages = n;
    if (page_size)
        *page_size = ps[k];
    return c->fixed + (double)n * per[k];
}

/* ---------------------------------------------------------- decode state */

static bool in_range(uint64_t g, uint64_t s, uint64_t b, uint64_t l)
{
    return g >= b && bs_last(g, s) <= l;
}

static bool bridge_forwards(const bs_vm *vm, int node, uint64_t g,
                            uint64_t s, bool io)
{
    for (int p = vm->t->nodes[node].parent; p > 0;
         p = vm->t->nodes[p].parent) {
        const struct vm_fn *b = &vm->f[p];
        uint16_t cmd = vm_rd16(b, 0x04);
        uint64_t lo, hi;
        if (io) {
            if (!(cmd & BS_CMD_IO) || !vm_window(b, BS_SLOT_WIN_IO, &lo, &hi) ||
                !in_range(g, s, lo, hi))
                return false;
            continue;
        }
        if (!(cmd & BS_CMD_MEM))
            return false;
        bool ok = (vm_window(b, BS_SLOT_WIN_MEM, &lo, &hi) &&
                   in_range(g, s, lo, hi)) ||
                  (vm_window(b, BS_SLOT_WIN_PREF, &lo, &hi) &&
                   in_range(g, s, lo, hi));
        if (!ok)
            return false;
    }
    return true;
}

bool vm_decoded(const bs_vm *vm, int node, int i, uint64_t *gpa,
                uint64_t *size, int *io)
{
    const struct vm_fn *f = &vm->f[node];
    int k = f->kind[i];
    if (!f->present || k == VB_NONE || k == VB_UPPER)
        return false;
    uint16_t cmd = vm_rd16(f, 0x04);
    bool isio = k == VB_IO;
    if (!(cmd & (isio ? BS_CMD_IO : BS_CMD_MEM)))
        return false;
    if (k == VB_ROM && !(vm_rd32(f, vm_bar_off(f, i)) & 1))
        return false;
    uint64_t a, s = f->size[i];
    if (!vm_bar_addr(f, i, &a) || !a || !s)
        return false;
    if (bs_last(a, s) < a)
        return false; /* wraps */
    if (isio && bs_last(a, s) > 0xffff)
        return false;
    if (vm->o.bridge_windows && !bridge_forwards(vm, node, a, s, isio))
        return false;
    /* The register holds a bus address; the guest maps the CPU one. */
    *gpa = bs_cpu_addr(vm->t, a, isio ? BS_RF_IO : 0);
    *size = s;
    *io = isio;
    return true;
}

/* ------------------------------------------------------------- mappings */

static void add_stats(bs_vm *vm, int node, bool map, uint64_t size,
                      uint64_t pages, double cost, bool toggle)
{
    bs_decode_stats *st[2] = {&vm->f[node].st, &vm->tot};
    for (int k = 0; k < 2; k++) {
        if (map) {
            st[k]->maps++;
            st[k]->bytes_mapped += size;
            st[k]->pages_mapped += pages;
        } else {
            st[k]->unmaps++;
            st[k]->bytes_unmapped += size;
            st[k]->pages_unmapped += pages;
        }
        st[k]->seconds += cost;
        if (toggle)
            st[k]->toggle_seconds += cost;
    }
}

/* ------------------------------------------------------ mapping index */

static struct vm_map *M(const bs_vm *vm, int32_t id)
{
    return &vm->f[id / VM_NBAR].m[id % VM_NBAR];
}

/* Treap priority: a fixed hash of the id, so that runs are reproducible
 * and the expected depth is O(log n) whatever order BARs are mapped in. */
static uint32_t prio(int32_t id)
{
    uint64_t x = (uint64_t)(uint32_t)id * UINT64_C(0x9e3779b97f4a7c15);
    return (uint32_t)(x >> 32);
}

/* Split tree t into keys < key (*l) and keys >= key (*r). */
static void tsplit(bs_vm *vm, int32_t t, uint64_t key, int32_t *l, int32_t *r)
{
    if (t < 0) {
        *l = *r = -1;
        return;
    }
    struct vm_map *m = M(vm, t);
    if (m->gpa < key) {
        tsplit(vm, m->tr, key, &m->tr, r);
        *l = t;
    } else {
        tsplit(vm, m->tl, key, l, &m->tl);
        *r = t;
    }
}

static int32_t tmerge(bs_vm *vm, int32_t a, int32_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    if (prio(a) > prio(b)) {
        M(vm, a)->tr = tmerge(vm, M(vm, a)->tr, b);
        return a;
    }
    M(vm, b)->tl = tmerge(vm, a, M(vm, b)->tl);
    return b;
}

static void tinsert(bs_vm *vm, int32_t id)
{
    struct vm_map *m = M(vm, id);
    int32_t l, r;
    m->tl = m->tr = -1;
    tsplit(vm, vm->troot, m->gpa, &l, &r);
    vm->troot = tmerge(vm, tmerge(vm, l, id), r);
}

static void tremove(bs_vm *vm, int32_t id)
{
    uint64_t key = M(vm, id)->gpa;
    int32_t *link = &vm->troot;
    /* Keys are unique while mappings do not overlap; the id check keeps
     * the walk right even if a restored state broke that. */
    while (*link >= 0 && *link != id)
        link = key < M(vm, *link)->gpa ? &M(vm, *link)->tl : &M(vm, *link)->tr;
    if (*link == id)
        *link = tmerge(vm, M(vm, id)->tl, M(vm, id)->tr);
}

/* Ids of the mapped ranges overlapping [g, last], in address order. */
static void tquery(const bs_vm *vm, int32_t t, uint64_t g, uint64_t last,
                   int32_t *out, int *n)
{
    while (t >= 0) {
        const struct vm_map *m = M(vm, t);
        if (m->gpa > last) {
            t = m->tl;
            continue;
        }
        /* Disjoint ranges: everything left of m ends before m->gpa. */
        if (m->gpa > g)
            tquery(vm, m->tl, g, last, out, n);
        if (bs_last(m->gpa, m->size) >= g)
            out[(*n)++] = t;
        t = m->tr;
    }
}

static void set_held(bs_vm *vm, int node, int i, bool held)
{
    struct vm_map *m = &vm->f[node].m[i];
    if (m->held == held)
        return;
    m->held = held;
    if (held) {
        m->heldpos = vm->nheld;
        vm->held[vm->nheld++] = node * VM_NBAR + i;
    } else {
        int32_t last = vm->held[--vm->nheld];
        vm->held[m->heldpos] = last;
        M(vm, last)->heldpos = m->heldpos;
        m->heldpos = -1;
    }
}

int vm_index_init(bs_vm *vm)
{
    size_t ids = (size_t)vm->n * VM_NBAR;
    vm->troot = -1;
    vm->nheld = 0;
    vm->held = malloc(sizeof *vm->held * ids);
    vm->scratch = malloc(sizeof *vm->scratch * ids);
    vm->retry = malloc(sizeof *vm->retry * ids);
    if (!vm->held || !vm->scratch || !vm->retry)
        return BS_ENOMEM;
    for (int n = 0; n < vm->n; n++)
        for (int i = 0; i < VM_NBAR; i++) {
            struct vm_map *m = &vm->f[n].m[i];
            m->tl = m->tr = m->heldpos = -1;
        }
    return BS_OK;
}

void vm_index_free(bs_vm *vm)
{
    free(vm->held);
    free(vm->scratch);
    free(vm->retry);
    vm->held = vm->scratch = vm->retry = NULL;
}

void vm_index_rebuild(bs_vm *vm)
{
    vm->troot = -1;
    vm->nheld = 0;
    vm->unmap_gen = vm->retry_gen + 1; /* retry what was held, once */
    for (int n = 1; n < vm->n; n++)
        for (int i = 0; i < VM_NBAR; i++) {
            struct vm_map *m = &vm->f[n].m[i];
            m->tl = m->tr = m->heldpos = -1;
            if (m->mapped)
                tinsert(vm, n * VM_NBAR + i);
            if (m->held) {
                m->held = false;
                set_held(vm, n, i, true);
            }
        }
}

/* ------------------------------------------------------------- mappings */

/* drop: the mapping goes because decode went away (not a move). */
static void do_unmap(bs_vm *vm, int node, int i, bool drop)
{
    struct vm_map *m = &vm->f[node].m[i];
    tremove(vm, node * VM_NBAR + i);
    vm->unmap_gen++;
    uint64_t pages;
    double c = bs_cost_of(&vm->o.cost, m->gpa, m->size, &pages, NULL);
    if (vm->o.unmap)
        vm->o.unmap(vm->o.ctx, m->gpa, m->size, node, i);
    add_stats(vm, node, false, m->size, pages, c, drop);
    m->mapped = false;
    m->tog_valid = drop;
    m->tog_gpa = m->gpa;
    m->tog_size = m->size;
}

static void do_map(bs_vm *vm, int node, int i, uint64_t g, uint64_t s)
{
    struct vm_map *m = &vm->f[node].m[i];
    uint64_t pages;
    double c = bs_cost_of(&vm->o.cost, g, s, &pages, NULL);
    bool tog = m->tog_valid && m->tog_gpa == g && m->tog_size == s;
    if (vm->o.map)
        vm->o.map(vm->o.ctx, g, s, node, i);
    add_stats(vm, node, true, s, pages, c, tog);
    m->mapped = true;
    set_held(vm, node, i, false);
    m->gpa = g;
    m->size = s;
    m->tog_valid = false;
    tinsert(vm, node * VM_NBAR + i);
}

static int cmp_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* A mapping the BAR no longer decodes at (deferred policy only). */
static bool is_kept(const bs_vm *vm, int node, int i)
{
    const struct vm_map *m = &vm->f[node].m[i];
    uint64_t g, s;
    int io;
    return m->mapped && !(vm_decoded(vm, node, i, &g, &s, &io) && !io &&
                          g == m->gpa && s == m->size);
}

static void try_map(bs_vm *vm, int node, int i, uint64_t g, uint64_t s)
{
    bool blocked = false;
    int k = 0;
    int32_t self = node * VM_NBAR + i;
    tquery(vm, vm->troot, g, bs_last(g, s), vm->scratch, &k);
    /* In id order, as a scan of every function would meet them: which
     * kept mapping goes first decides the unmap calls the VMM sees. */
    qsort(vm->scratch, (size_t)k, sizeof *vm->scratch, cmp_id);
    for (int x = 0; x < k; x++) {
        int32_t id = vm->scratch[x];
        int n = id / VM_NBAR, j = id % VM_NBAR;
        if (id == self)
            continue;
        if (vm->o.policy == BS_HOST_DEFERRED && is_kept(vm, n, j))
            do_unmap(vm, n, j, true);
        else
            blocked = true;
    }
    if (blocked) {
        set_held(vm, node, i, true);
        return;
    }
    do_map(vm, node, i, g, s);
}

static void apply_bar(bs_vm *vm, int node, int i)
{
    struct vm_map *m = &vm->f[node].m[i];
    uint64_t g = 0, s = 0;
    int io = 0;
    bool d = vm_decoded(vm, node, i, &g, &s, &io) && !io;
    if (d && m->mapped && m->gpa == g && m->size == s) {
        set_held(vm, node, i, false);
        return;
    }
    if (vm->o.policy == BS_HOST_EAGER) {
        if (m->mapped)
            do_unmap(vm, node, i, !d);
    } else {
        if (!d) {
            set_held(vm, node, i, false);
            return; /* keep whatever is mapped */
        }
        if (m->mapped)
            do_unmap(vm, node, i, false);
    }
    set_held(vm, node, i, false);
    if (d)
        try_map(vm, node, i, g, s);
}

/* After unmaps, give every held BAR another chance, in id order (the
 * order a scan of every function would take).  Retrying one never holds
 * another, so a copy of the list made up front is the whole work; unmaps
 * the retries cause are seen by the next call, as a single forward scan
 * would leave them. */
static void retry_held(bs_vm *vm)
{
    int k = vm->nheld;
    if (!k || vm->retry_gen == vm->unmap_gen)
        return;
    vm->retry_gen = vm->unmap_gen;
    int32_t *ids = vm->retry;
    memcpy(ids, vm->held, sizeof *ids * (size_t)k);
    qsort(ids, (size_t)k, sizeof *ids, cmp_id);
    for (int x = 0; x < k; x++)
        if (M(vm, ids[x])->held)
            apply_bar(vm, ids[x] / VM_NBAR, ids[x] % VM_NBAR);
}

static void reconcile_tree(bs_vm *vm, int node)
{
    for (int i = 0; i < VM_NBAR; i++)
        apply_bar(vm, node, i);
    BS_FOR_CHILDREN(vm->t, node, c) reconcile_tree(vm, c);
}

void vm_reconcile(bs_vm *vm, int node, bool subtree)
{
    if (subtree) {
        reconcile_tree(vm, node);
    } else {
        for (int i = 0; i < VM_NBAR; i++)
            apply_bar(vm, node, i);
    }
    retry_held(vm);
}

void vm_note_command(bs_vm *vm, int node, uint16_t before, uint16_t after)
{
    struct vm_fn *f = &vm->f[node];
    bs_decode_stats *st[2] = {&f->st, &vm->tot};
    bool was = before & BS_CMD_MEM, now = after & BS_CMD_MEM;
    if (was == now)
        return;
    for (int k = 0; k < 2; k++) {
        if (was)
            st[k]->decode_off++;
        else
            st[k]->decode_on++;
        if (now && f->had_off)
            st[k]->toggles++;
    }
    if (was)
        f->had_off = true;
}

void bs_vm_settle(bs_vm *vm)
{
    if (vm->o.policy != BS_HOST_DEFERRED)
        return;
    for (int n = 1; n < vm->n; n++)
        for (int i = 0; i < VM_NBAR; i++) {
            struct vm_map *m = &vm->f[n].m[i];
            if (!is_kept(vm, n, i))
                continue;
            uint64_t a;
            /* Still programmed there: the guest has not given the space
             * away, so the mapping may stay. */
            if (vm_bar_addr(&vm->f[n], i, &a) &&
                bs_cpu_addr(vm->t, a, vm->f[n].kind[i] == VB_IO ? BS_RF_IO
                                                                : 0) ==
                    m->gpa &&
                vm->f[n].size[i] == m->size)
                continue;
            do_unmap(vm, n, i, true);
        }
    retry_held(vm);
}

/* ------------------------------------------------------------- queries */

int bs_vm_decoded(const bs_vm *vm, bs_vm_range *out, int cap)
{
    int cnt = 0;
    for (int n = 1; n < vm->n; n++)
        for (int i = 0; i < VM_NBAR; i++) {
            uint64_t g, s;
            int io;
            if (!vm_decoded(vm, n, i, &g, &s, &io))
                continue;
            if (cnt < cap)
                out[cnt] = (bs_vm_range){n, i, g, s, io};
            cnt++;
        }
    return cnt;
}

int bs_vm_mapped(const bs_vm *vm, bs_vm_range *out, int cap)
{
    int cnt = 0;
    for (int n = 1; n < vm->n; n++)
        for (int i = 0; i < VM_NBAR; i++) {
            const struct vm_map *m = &vm->f[n].m[i];
            if (!m->mapped)
                continue;
            if (cnt < cap)
                out[cnt] = (bs_vm_range){n, i, m->gpa, m->size, 0};
            cnt++;
        }
    return cnt;
}

static int cmp_range(const void *a, const void *b)
{
    const bs_vm_range *x = a, *y = b;
    if (x->io != y->io)
        return x->io - y->io;
    return (x->gpa > y->gpa) - (x->gpa < y->gpa);
}

/* Overlapping pairs in a list (sorted in place); first pair into *p, *q. */
static int count_overlaps(bs_vm_range *r, int n, int *p, int *q)
{
    qsort(r, (size_t)n, sizeof *r, cmp_range);
    int cnt = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n && r[j].io == r[i].io &&
                            r[j].gpa <= bs_last(r[i].gpa, r[i].size);
             j++) {
            if (!cnt && p) {
                *p = i;
                *q = j;
            }
            cnt++;
        }
    return cnt;
}

int bs_vm_decode_conflicts(const bs_vm *vm)
{
    int n = bs_vm_decoded(vm, NULL, 0);
    if (!n)
        return 0;
    bs_vm_range *r = malloc(sizeof *r * (size_t)n);
    if (!r)
        return BS_ENOMEM;
    bs_vm_decoded(vm, r, n);
    int c = count_overlaps(r, n, NULL, NULL);
    free(r);
    return c;
}

/* In-order walk of the mapping index: every entry mapped, keys rising,
 * depth bounded (a cycle or a corrupt link cannot loop). */
static bool index_walk(const bs_vm *vm, int32_t t, int *cnt, uint64_t *prev,
                       int depth)
{
    if (t < 0)
        return true;
    if (t >= vm->n * VM_NBAR || depth > 200 || *cnt > vm->n * VM_NBAR)
        return false;
    const struct vm_map *m = M(vm, t);
    if (!index_walk(vm, m->tl, cnt, prev, depth + 1))
        return false;
    if (!m->mapped || (*cnt && m->gpa <= *prev))
        return false;
    *prev = m->gpa;
    (*cnt)++;
    return index_walk(vm, m->tr, cnt, prev, depth + 1);
}

#define PROBLEM(...)                                                       \
    do {                                                                   \
        if (!problems++ && msg && cap)                                     \
            snprintf(msg, cap, __VA_ARGS__);                               \
    } while (0)

int bs_vm_check(const bs_vm *vm, char *msg, size_t cap)
{
    int problems = 0;
    if (msg && cap)
        msg[0] = 0;
    const bs_topo *t = vm->t;
    int nm = bs_vm_mapped(vm, NULL, 0);
    bs_vm_range *r = nm ? malloc(sizeof *r * (size_t)nm) : NULL;
    if (nm && !r)
        return BS_ENOMEM;
    bs_vm_mapped(vm, r, nm);
    int p, q;
    int ov = nm ? count_overlaps(r, nm, &p, &q) : 0;
    if (ov) {
        PROBLEM("host mappings overlap: %s %s and %s %s",
                t->nodes[r[p].node].name, bs_slot_name(r[p].bar == BS_BAR_ROM
                                                           ? BS_SLOT_ROM
                                                           : r[p].bar),
                t->nodes[r[q].node].name,
                bs_slot_name(r[q].bar == BS_BAR_ROM ? BS_SLOT_ROM : r[q].bar));
        problems += ov - 1;
    }
    free(r);
    /* The mapping index must hold exactly the mapped ranges, in address
     * order, and the held list exactly the held BARs. */
    bool index_ok = true;
    if (!ov) {
        int cnt = 0;
        uint64_t prev = 0;
        if (!index_walk(vm, vm->troot, &cnt, &prev, 0) || cnt != nm) {
            PROBLEM("the mapping index does not list the %d mappings", nm);
            index_ok = false;
        }
    } else {
        index_ok = false;
    }
    int nheld = 0;
    for (int n = 1; n < vm->n; n++)
        for (int i = 0; i < VM_NBAR; i++) {
            const struct vm_map *m = &vm->f[n].m[i];
            if (m->held && (m->heldpos < 0 || m->heldpos >= vm->nheld ||
                            vm->held[m->heldpos] != n * VM_NBAR + i))
                PROBLEM("%s: held BAR %d missing from the held list",
                        t->nodes[n].name, i);
            nheld += m->held;
        }
    if (nheld != vm->nheld)
        PROBLEM("held list of %d entries for %d held BARs", vm->nheld, nheld);
    uint64_t maps = 0, unmaps = 0;
    for (int n = 1; n < vm->n; n++) {
        const struct vm_fn *f = &vm->f[n];
        const struct bs_node *tn = &t->nodes[n];
        maps += f->st.maps;
        unmaps += f->st.unmaps;
        for (int i = 0; i < VM_NBAR; i++) {
            const struct vm_map *m = &f->m[i];
            uint64_t g = 0, s = 0;
            int io = 0;
            bool d = vm_decoded(vm, n, i, &g, &s, &io) && !io;
            bool at = d && m->mapped && m->gpa == g && m->size == s;
            const char *bn = bs_slot_name(i == BS_BAR_ROM ? BS_SLOT_ROM : i);
            if (m->mapped && !at && vm->o.policy == BS_HOST_EAGER)
                PROBLEM("%s %s: mapped but not decoded there (eager)",
                        tn->name, bn);
            if (d && !at) {
                bool blocked = false;
                if (index_ok) {
                    int k = 0;
                    tquery(vm, vm->troot, g, bs_last(g, s), vm->scratch, &k);
                    for (int x = 0; x < k; x++)
                        blocked |= vm->scratch[x] != n * VM_NBAR + i;
                }
                if (!m->held || !blocked)
                    PROBLEM("%s %s: decoded but not mapped", tn->name, bn);
            }
            if (m->held && !d)
                PROBLEM("%s %s: held without decoding", tn->name, bn);
            /* The topology must say what the registers say. */
            int k = f->kind[i];
            if (k == VB_NONE || k == VB_UPPER)
                continue;
            const struct bs_res *res = &tn->res[i == BS_BAR_ROM ? BS_SLOT_ROM : i];
            uint64_t a;
            if (res->size != f->size[i])
                PROBLEM("%s %s: topology size differs from the register",
                        tn->name, bn);
            if (vm_bar_addr(f, i, &a) &&
                ((a && res->addr != bs_cpu_addr(vm->t, a, res->flags & BS_RF_IO)) ||
                 !(res->flags & BS_RF_ASSIGNED) != !a))
                PROBLEM("%s %s: topology address differs from the register",
                        tn->name, bn);
        }
        if (f->bridge)
            for (int s = BS_SLOT_WIN_IO; s <= BS_SLOT_WIN_PREF; s++) {
                uint64_t b, l;
                const struct bs_res *res = &tn->res[s];
                bool open = vm_window(f, s, &b, &l);
                bool topen = res->size && (res->flags & BS_RF_ASSIGNED);
                if (open != topen ||
                    (open && (res->addr != bs_cpu_addr(vm->t, b,
                                                       s == BS_SLOT_WIN_IO
                                                           ? BS_RF_IO : 0) ||
                              res->size != l - b + 1)))
                    PROBLEM("%s %s: topology differs from the registers",
                            tn->name, bs_slot_name(s));
            }
    }
    if (maps != vm->tot.maps || unmaps != vm->tot.unmaps)
        PROBLEM("per-function counters do not add up to the totals");
    return problems;
}

/* --------------------------------------------------------------- stats */

int bs_vm_stats(const bs_vm *vm, int node, bs_decode_stats *out)
{
    if (node == -1) {
        *out = vm->tot;
        return BS_OK;
    }
    if (node <= 0 || node >= vm->n)
        return BS_ENOENT;
    *out = vm->f[node].st;
    return BS_OK;
}

void bs_vm_stats_reset(bs_vm *vm)
{
    memset(&vm->tot, 0, sizeof vm->tot);
    for (int n = 0; n < vm->n; n++)
        memset(&vm->f[n].st, 0, sizeof vm->f[n].st);
}

int bs_vm_ideal(const bs_vm *vm, bs_decode_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int n = 1; n < vm->n; n++)
        for (int i = 0; i < 6; i++) {
            const struct vm_fn *f = &vm->f[n];
            uint64_t a, pages;
            if (f->kind[i] != VB_MEM32 && f->kind[i] != VB_MEM64)
                continue;
            if (!vm_bar_addr(f, i, &a) || !a)
                continue;
            out->maps++;
            out->bytes_mapped += f->size[i];
            out->seconds += bs_cost_of(&vm->o.cost, a, f->size[i], &pages, NULL);
            out->pages_mapped += pages;
        }
    return BS_OK;
}
