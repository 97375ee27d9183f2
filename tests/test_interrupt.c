/*
 * Interrupted relocation plans.
 *
 * Plans come from the churn workloads (seed NVMe window, GPU replacements
 * with Resizable BARs, SR-IOV VF changes, mixed sizes with pinned devices
 * behind a switch) and from hand-made adversarial machines.  Each plan is
 * killed after every step index k = 0..n: the pending plan (before, after,
 * steps, next = k) is snapshotted, the snapshot restored, and then
 *   - rollback: steps [0, k) followed by bs_pending_rollback() must pass
 *     the plan step checker from before back to before (every intermediate
 *     state valid, every driver resumed, every resource where it was);
 *   - resume: steps [0, k) followed by bs_pending_resume() must pass the
 *     step checker from before to after;
 * and both end states pass bs_check with every device of the before state
 * still holding all its resources (no device lost).  The rollback is also
 * replayed on the config-space emulation (bs_vm), which must end with
 * every BAR register back at the before address.
 */
#include "core/internal.h"
#include "barspace/cfgspace.h"
#include "barspace/churn.h"
#include "barspace/plan.h"
#include "barspace/snapshot.h"
#include "test.h"

#include <stdlib.h>

static int plans_tested, kills_tested, vm_replays;

/* Every device resource assigned in `ref` is assigned in `t` too. */
static bool none_lost(const bs_topo *ref, const bs_topo *t)
{
    for (int i = 1; i < ref->nnodes; i++)
        for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
            const struct bs_res *r = &ref->nodes[i].res[k];
            if ((r->flags & BS_RF_ASSIGNED) && r->size &&
                !(t->nodes[i].res[k].flags & BS_RF_ASSIGNED))
                return false;
        }
    return true;
}

static bs_step *concat(const bs_step *a, int na, const bs_step *b, int nb)
{
    bs_step *s = malloc(sizeof *s * (size_t)(na + nb + 1));
    if (na)
        memcpy(s, a, sizeof *s * (size_t)na);
    if (nb)
        memcpy(s + na, b, sizeof *s * (size_t)nb);
    return s;
}

/* Replay steps [0, k) and the rollback on the config-space emulation of
 * `before`: registers the emulation implements (command, BARs, ROM, bridge
 * windows) must end holding the before addresses again. */
static void vm_rollback(const bs_topo *before, const bs_step *s, int n)
{
    bs_topo *t = bs_topo_clone(before);
    bs_vm_opts o;
    bs_vm_opts_init(&o);
    o.initial_command = BS_CMD_MEM | BS_CMD_IO;
    bs_vm *vm = NULL;
    if (bs_vm_new(t, &o, &vm, NULL) != BS_OK) {
        bs_topo_free(t);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (s[i].kind != BS_STEP_WRITE || s[i].reg >= 0x40)
            continue;
        CHECK_EQ(bs_cfg_write(vm, s[i].node, s[i].reg, s[i].width,
                              s[i].value), BS_OK);
    }
    bool same = true;
    for (int i = 1; i < before->nnodes; i++)
        for (int k = 0; k <= BS_SLOT_ROM; k++) {
            const struct bs_res *a = &before->nodes[i].res[k];
            const struct bs_res *b = &t->nodes[i].res[k];
            if ((a->flags & BS_RF_ASSIGNED) && a->size && b->addr != a->addr) {
                fprintf(stderr, "vm: %s %s at 0x%llx after rollback, was "
                        "0x%llx\n", a == b ? "?" : before->nodes[i].name,
                        bs_slot_name(k), (unsigned long long)b->addr,
                        (unsigned long long)a->addr);
                same = false;
            }
        }
    CHECK(same);
    vm_replays++;
    bs_vm_free(vm);
    bs_topo_free(t);
}

/* Kill the pending plan after every step and check rollback and resume. */
static void kill_everywhere(const bs_pending_plan *orig, const char *what)
{
    bs_churn_opts cost;
    bs_churn_opts_init(&cost, BS_PLACE_BARSPACE);
    bs_step_report rep;
    /* The plan itself must be valid, or nothing below means anything. */
    int rc = bs_steps_check(orig->before, orig->after, orig->steps,
                            orig->nsteps, &cost, &rep, NULL);
    if (rc) {
        fprintf(stderr, "%s: plan invalid: %s\n", what, rep.msg);
        CHECK_EQ(rc, BS_OK);
        return;
    }
    CHECK_EQ(bs_check(orig->before, NULL, NULL, 0), 0);
    CHECK_EQ(bs_check(orig->after, orig->before, NULL, 0), 0);
    plans_tested++;
    for (int k = 0; k <= orig->nsteps; k++) {
        bs_pending_plan pp = *orig;
        pp.next = k;
        bs_state st = {.topo = orig->before, .plan = &pp};
        unsigned char *buf = NULL;
        size_t len = 0;
        CHECK_EQ(bs_snapshot_save(&st, &buf, &len, NULL), BS_OK);
        bs_state back = {0};
        bs_error e = {0};
        rc = bs_snapshot_restore(buf, len, 0, &back, &e);
        free(buf);
        if (rc)
            fprintf(stderr, "%s: restore: %s\n", what, e.msg);
        CHECK_EQ(rc, BS_OK);
        if (rc)
            continue;
        const bs_pending_plan *rp = back.plan;
        CHECK(rp && rp->next == k && rp->nsteps == orig->nsteps);

        bs_step *undo = NULL, *rest = NULL;
        int nu = 0, nr = 0;
        rc = bs_pending_rollback(rp, &undo, &nu, &e);
        if (rc)
            fprintf(stderr, "%s: rollback at %d: %s\n", what, k, e.msg);
        CHECK_EQ(rc, BS_OK);
        CHECK(nu >= k && nu <= 2 * k);
        bs_step *seq = concat(rp->steps, k, undo, nu);
        rc = bs_steps_check(rp->before, rp->before, seq, k + nu, &cost, &rep,
                            NULL);
        if (rc)
            fprintf(stderr, "%s: killed at %d/%d, rollback step %d: %s\n",
                    what, k, rp->nsteps, rep.first_bad, rep.msg);
        CHECK_EQ(rc, BS_OK);
        if (k == rp->nsteps || k % 3 == 0)
            vm_rollback(rp->before, seq, k + nu);
        free(seq);
        /* Rolled back, the machine is the before state: valid, complete. */
        CHECK_EQ(bs_check(rp->before, NULL, NULL, 0), 0);
        CHECK(none_lost(orig->before, rp->before));

        CHECK_EQ(bs_pending_resume(rp, &rest, &nr), BS_OK);
        CHECK_EQ(nr, rp->nsteps - k);
        seq = concat(rp->steps, k, rest, nr);
        rc = bs_steps_check(rp->before, rp->after, seq, k + nr, &cost, &rep,
                            NULL);
        if (rc)
            fprintf(stderr, "%s: killed at %d, resume: %s\n", what, k,
                    rep.msg);
        CHECK_EQ(rc, BS_OK);
        CHECK_EQ(bs_check(rp->after, rp->before, NULL, 0), 0);
        CHECK(none_lost(orig->before, rp->after));
        free(seq);
        free(undo);
        free(rest);
        bs_state_free(&back);
        kills_tested++;
    }
}

/* The plan moves a working device or a bridge window. */
static bool moves_something(const bs_plan *p)
{
    for (int i = 0; i < bs_plan_item_count(p); i++) {
        bs_plan_item it;
        if (bs_plan_item_get(p, i, &it) == BS_OK && it.op != BS_PLAN_NEW)
            return true;
    }
    return false;
}

/* Plan the hot-add of ev on a copy of the churn's machine and, when the
 * plan moves something, kill it everywhere.  A replace is planned as the
 * removal of the old device followed by the hot-add of the new one. */
static bool try_plan(const bs_topo *running, const bs_event *ev,
                     const char *what, bool need_moves)
{
    bs_churn_opts o;
    bs_churn_opts_init(&o, BS_PLACE_BARSPACE);
    o.plan_budget = 5000;
    bs_churn *c = NULL;
    if (bs_churn_new(running, &o, &c, NULL) != BS_OK)
        return false;
    bs_event add = *ev;
    if (ev->kind == BS_EV_REPLACE) {
        int id = bs_topo_find(running, ev->dev);
        if (id <= 0) {
            bs_churn_free(c);
            return false;
        }
        bs_event rm = {0};
        rm.kind = BS_EV_REMOVE;
        snprintf(rm.dev, sizeof rm.dev, "%s", ev->dev);
        bs_event_result res;
        if (bs_churn_apply(c, &rm, &res, NULL) != BS_OK) {
            bs_churn_free(c);
            return false;
        }
        add.kind = BS_EV_ADD;
        snprintf(add.at, sizeof add.at, "%s",
                 running->nodes[id].parent == 0
                     ? "host"
                     : running->nodes[running->nodes[id].parent].name);
        /* The node of the removed device keeps its name in the topology:
         * the new one gets a name of its own. */
        snprintf(add.dev, sizeof add.dev, "%.40s-new", ev->dev);
    }
    bs_plan *p = bs_plan_new();
    bool done = false;
    if (bs_churn_plan_add(c, &add, p, NULL) == BS_OK &&
        (!need_moves || moves_something(p))) {
        bs_pending_plan *pp = NULL;
        int rc = bs_pending_new(bs_churn_topo(c), p, &pp);
        CHECK_EQ(rc, BS_OK);
        if (!rc) {
            kill_everywhere(pp, what);
            done = true;
        }
        bs_pending_free(pp);
    }
    bs_plan_free(p);
    bs_churn_free(c);
    return done;
}

/* Run a generated workload; the running machine is placed by `policy`
 * (linux fragments the windows, so that plans must move devices).  Hot-adds
 * and replacements are planned on a copy; resizes and VF changes that the
 * barspace policy carried out with moves have their plan taken from the
 * churn, with the state before the event as the plan's before state. */
static void workload(const char *spec, int policy, int events,
                     int want_plans)
{
    bs_churn_gen *g = NULL;
    bs_error e = {0};
    int rc = bs_churn_gen_new(spec, 7, &g, &e);
    CHECK_EQ(rc, BS_OK);
    if (rc) {
        fprintf(stderr, "%s: %s\n", spec, e.msg);
        return;
    }
    bs_churn_opts o;
    bs_churn_opts_init(&o, policy);
    bs_churn *c = NULL;
    rc = bs_churn_new(bs_churn_gen_topo(g), &o, &c, &e);
    CHECK_EQ(rc, BS_OK);
    int got = 0;
    for (int i = 0; !rc && i < events && got < want_plans; i++) {
        bs_event ev;
        if (bs_churn_gen_next(g, &ev) != BS_OK)
            break;
        if ((ev.kind == BS_EV_ADD || ev.kind == BS_EV_REPLACE) &&
            try_plan(bs_churn_topo(c), &ev, spec, true))
            got++;
        bs_topo *before = bs_topo_clone(bs_churn_topo(c));
        bs_event_result res;
        bs_churn_apply(c, &ev, &res, NULL);
        if (res.outcome == BS_OUT_FAILED &&
            (ev.kind == BS_EV_ADD || ev.kind == BS_EV_REPLACE)) {
            /* Keep the running machine fully assigned: a copy of it must
             * be a valid starting point for the planner. */
            bs_event rm = {0};
            rm.kind = BS_EV_REMOVE;
            memcpy(rm.dev, ev.dev, sizeof rm.dev);
            bs_churn_apply(c, &rm, &res, NULL);
        }
        const bs_plan *lp = bs_churn_last_plan(c);
        if ((ev.kind == BS_EV_RESIZE || ev.kind == BS_EV_VFS) && lp &&
            res.outcome == BS_OUT_MOVED && moves_something(lp)) {
            bs_pending_plan *pp = NULL;
            if (bs_pending_new(before, lp, &pp) == BS_OK) {
                kill_everywhere(pp, spec);
                got++;
            }
            bs_pending_free(pp);
        }
        bs_topo_free(before);
    }
    printf("%s (%s placement): %d plans moving devices or windows killed at every step\n",
           spec, policy == BS_PLACE_LINUX ? "linux" : "barspace", got);
    CHECK(got > 0);
    bs_churn_free(c);
    bs_churn_gen_free(g);
}

/* Hand-made machines: pinned device in the middle of the window, a 64-bit
 * BAR across 4 GiB, nested bridges that must grow. */
static void adversarial(void)
{
    static const char *const machines[] = {
        /* pinned in the middle: the new 128K device needs both neighbours
         * to move to one side */
        "topology adv0\n"
        "window mem 0xc0000000-0xc007ffff\n"
        "device a { \n bar 0 mem32 64K\n}\n"
        "device p pinned {\n bar 0 mem32 64K\n}\n"
        "device b {\n bar 0 mem32 64K\n}\n"
        "device c {\n bar 0 mem32 64K\n}\n",
        /* 64-bit window straddling 4 GiB is not allowed for a root window,
         * so put a 64-bit pref window right above it with the BARs moving
         * inside it */
        "topology adv1\n"
        "window mem 0xe0000000-0xefffffff\n"
        "window mem 0x100000000-0x13fffffff pref\n"
        "device g0 {\n bar 0 mem64 256M pref\n}\n"
        "device g1 pinned {\n bar 0 mem64 256M pref\n}\n"
        "device g2 {\n bar 0 mem64 256M pref\n}\n",
        /* nested bridges: the switch's window must grow around a pinned
         * device */
        "topology adv2\n"
        "window mem 0xc0000000-0xc17fffff\n"
        "bridge up {\n"
        "    bridge dn0 hotplug {\n"
        "        device a {\n bar 0 mem32 1M\n }\n"
        "    }\n"
        "    bridge dn1 {\n"
        "        device b {\n bar 0 mem32 2M\n }\n"
        "        device q pinned {\n bar 0 mem32 1M\n }\n"
        "    }\n"
        "}\n"
        "device r {\n bar 0 mem32 4M\n}\n"
        "device s {\n bar 0 mem32 8M\n}\n",
    };
    static const char *const adds[] = {
        "add n at host bar0=mem32:128K",
        "add n at host bar0=pref64:512M",
        "add n at up bar0=mem32:4M",
    };
    for (size_t i = 0; i < sizeof machines / sizeof machines[0]; i++) {
        bs_topo *t = NULL;
        bs_error e = {0};
        int rc = bs_topo_parse(machines[i], strlen(machines[i]), "adv", &t,
                               &e);
        if (rc)
            fprintf(stderr, "adv%zu: %s (line %d)\n", i, e.msg, e.line);
        CHECK_EQ(rc, BS_OK);
        if (rc)
            continue;
        bs_assign_opts ao;
        bs_assign_opts_init(&ao, BS_POLICY_PACK);
        CHECK_EQ(bs_assign(t, &ao, NULL), BS_OK);
        bs_event *ev = NULL;
        int n = 0;
        rc = bs_events_parse(adds[i], strlen(adds[i]), "add", &ev, &n, &e);
        CHECK(rc == BS_OK && n == 1);
        if (!rc && n == 1) {
            bool ok = try_plan(t, &ev[0], machines[i] + 9, false);
            if (!ok)
                fprintf(stderr, "adv%zu: no plan\n", i);
            CHECK(ok);
        }
        free(ev);
        bs_topo_free(t);
    }
}

/* A write to a register the before state does not determine is refused,
 * not guessed. */
static void refusals(void)
{
    bs_topo *t = bs_topo_new("r");
    bs_topo_add_window(t, 0, 0xc0000000, 0x1000000);
    int d = bs_topo_add_node(t, 0, BS_NODE_DEVICE, "d");
    bs_topo_set_bar(t, d, 0, 0, 0x1000, 0);
    bs_step s[2] = {{BS_STEP_QUIESCE, d, 0, 0, 0, "q"},
                    {BS_STEP_WRITE, d, 0x3c, 1, 5, "interrupt line"}};
    bs_pending_plan pp = {t, t, s, 2, 2};
    bs_step *out = NULL;
    int n = -1;
    bs_error e = {0};
    CHECK_EQ(bs_pending_rollback(&pp, &out, &n, &e), BS_EINVAL);
    CHECK(out == NULL && n == 0);
    CHECK(strstr(e.msg, "0x3c") != NULL);
    pp.next = 1;
    CHECK_EQ(bs_pending_rollback(&pp, &out, &n, &e), BS_OK);
    CHECK(n == 1 && out && out[0].kind == BS_STEP_RESUME);
    free(out);
    pp.next = 3;
    CHECK_EQ(bs_pending_rollback(&pp, &out, &n, &e), BS_EINVAL);
    CHECK_EQ(bs_pending_resume(&pp, &out, &n), BS_EINVAL);
    bs_topo_free(t);
}

int main(void)
{
    refusals();
    adversarial();
    workload("nvme", BS_PLACE_LINUX, 2000, 6);
    workload("gpu", BS_PLACE_BARSPACE, 2000, 4);
    workload("sriov:pfs=12,window=32M", BS_PLACE_BARSPACE, 2000, 4);
    workload("mixed", BS_PLACE_BARSPACE, 2000, 6);
    printf("interrupt: %d plans, %d kill points, %d emulation replays\n",
           plans_tested, kills_tested, vm_replays);
    CHECK(plans_tested >= 10);
    TEST_DONE("test_interrupt");
}
