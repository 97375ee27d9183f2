/*
 * What the core needs to know about the Hyper-V platform to check a
 * topology: VMBus's view of the gaps and the framebuffer claim that holds
 * (vmbus_walk_resources, vmbus_reserve_fb in Linux's drivers/hv/vmbus_drv.c).
 * The allocator that serves vPCI buses from them is src/hyperv/vmbus.c.
 */
#include "core/internal.h"

/* vmbus_walk_resources keeps a range that runs over the vTPM's registers
 * up to and including this byte. */
#define VTPM_BASE UINT64_C(0xfed40000)

int bs_hv_gaps(const bs_topo *t, uint64_t *base, uint64_t *last, int *win)
{
    int n = 0;
    for (int i = 0; i < t->nwin; i++) {
        const struct bs_rootwin *w = &t->win[i];
        uint64_t b = w->base, l = bs_last(w->base, w->size);
        if ((w->flags & BS_RF_IO) || l < BS_MIB) /* below 1 MiB: ignored */
            continue;
        if (b < VTPM_BASE && l > VTPM_BASE)
            l = VTPM_BASE;
        int j = n++; /* insertion by base: at most 32 windows */
        while (j > 0 && base[j - 1] > b) {
            base[j] = base[j - 1];
            last[j] = last[j - 1];
            win[j] = win[j - 1];
            j--;
        }
        base[j] = b;
        last[j] = l;
        win[j] = i;
    }
    return n;
}

bool bs_hv_fb_claim(const bs_topo *t, uint64_t *base, uint64_t *size)
{
    uint64_t b[BS_MAX_ROOT_WINDOWS], l[BS_MAX_ROOT_WINDOWS];
    int w[BS_MAX_ROOT_WINDOWS];
    if (!t->fb_size || bs_hv_gaps(t, b, l, w) == 0)
        return false;
    /* The claim is made in the first range, halving from the declared
     * size while it does not fit, down to 1 MiB. */
    for (uint64_t s = t->fb_size; s >= BS_MIB; s >>= 1) {
        uint64_t e = bs_last(t->fb_base, s);
        if (t->fb_base >= b[0] && e >= t->fb_base && e <= l[0]) {
            *base = t->fb_base;
            *size = s;
            return true;
        }
    }
    return false;
}
