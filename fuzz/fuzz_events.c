/*
 * Churn event-trace parser (bs_events_parse) and the churn engine behind
 * it.  Contracts: refusals carry an error record; every parsed event
 * formats to a line that parses back to the same event; applying the
 * events to a small running machine (both placement policies) never leaves
 * a state the checker rejects.
 *
 * fuzz-needs: bs_events_parse bs_event_format bs_churn_apply bs_check
 * fuzz-max-len: 2048
 */
#include "fuzz.h"
#include "barspace/churn.h"

static const char machine[] =
    "topology fz\n"
    "window io 0x1000-0xffff\n"
    "window mem 0xc0000000-0xc0ffffff\n"
    "window mem 0x800000000+4G pref\n"
    "bridge rp0 hotplug mem=2M pref=64M {\n"
    "    device a {\n"
    "        bar 0 mem64 64K\n"
    "    }\n"
    "    device b pinned {\n"
    "        bar 0 mem32 16K\n"
    "        bar 2 mem64 16M pref\n"
    "    }\n"
    "}\n"
    "bridge rp1 hotplug {\n"
    "}\n"
    "device c {\n"
    "    bar 0 mem32 1M\n"
    "    bar 1 io 32\n"
    "}\n";

static bool same_event(const bs_event *a, const bs_event *b)
{
    if (a->kind != b->kind || strcmp(a->dev, b->dev) ||
        a->nbars != b->nbars || a->num_vfs != b->num_vfs ||
        a->pinned != b->pinned || a->slot != b->slot || a->size != b->size)
        return false;
    if (a->kind == BS_EV_ADD && strcmp(a->at, b->at))
        return false;
    for (int i = 0; i < a->nbars; i++)
        if (a->bar[i].slot != b->bar[i].slot ||
            a->bar[i].flags != b->bar[i].flags ||
            a->bar[i].size != b->bar[i].size ||
            a->bar[i].rebar != b->bar[i].rebar)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bs_event *ev = NULL;
    int n = 0;
    bs_error e = {0};
    int rc = bs_events_parse((const char *)data, size, "fuzz.events", &ev, &n,
                             &e);
    if (rc) {
        fuzz_check_error(&e, rc);
        free(ev);
        return 0;
    }
    FUZZ_CHECK(n >= 0 && (n == 0 || ev));
    for (int i = 0; i < n; i++) {
        char line[1024];
        size_t need = bs_event_format(&ev[i], line, sizeof line);
        FUZZ_CHECK(need < sizeof line);
        bs_event *back = NULL;
        int nb = 0;
        bs_error e2 = {0};
        rc = bs_events_parse(line, need, "formatted", &back, &nb, &e2);
        if (rc || nb != 1)
            fprintf(stderr, "formatted event refused: %s\n  %s\n", e2.msg,
                    line);
        FUZZ_CHECK(rc == BS_OK && nb == 1);
        if (!same_event(&ev[i], &back[0]))
            fprintf(stderr, "event changed through its text: %s\n", line);
        FUZZ_CHECK(same_event(&ev[i], &back[0]));
        free(back);
    }
    if (n > 64) {
        free(ev);
        return 0;
    }
    bs_topo *t = NULL;
    FUZZ_CHECK(bs_topo_parse(machine, sizeof machine - 1, "m", &t, NULL) ==
               BS_OK);
    for (int pol = BS_PLACE_LINUX; pol <= BS_PLACE_BARSPACE; pol++) {
        bs_churn_opts o;
        bs_churn_opts_init(&o, pol);
        o.plan_budget = 2000;
        bs_churn *c = NULL;
        FUZZ_CHECK(bs_churn_new(t, &o, &c, NULL) == BS_OK);
        const bs_topo *start = bs_topo_clone(bs_churn_topo(c));
        for (int i = 0; i < n; i++) {
            bs_event_result res;
            bs_error ae = {0};
            rc = bs_churn_apply(c, &ev[i], &res, &ae);
            if (rc) {
                fuzz_check_error(&ae, rc);
                continue;
            }
            FUZZ_CHECK(res.outcome >= BS_OUT_OK &&
                       res.outcome <= BS_OUT_FAILED);
            bs_violation v;
            int nv = bs_check(bs_churn_topo(c), NULL, &v, 1);
            if (nv)
                fprintf(stderr, "policy %d, event %d (line %d): %s\n", pol,
                        i, ev[i].line, v.msg);
            FUZZ_CHECK(nv == 0);
        }
        bs_topo_free((bs_topo *)start);
        bs_churn_free(c);
    }
    bs_topo_free(t);
    free(ev);
    return 0;
}
