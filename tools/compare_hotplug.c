/* barspace compare OUTDIR for a hot-plug run: the churn engine's linux
 * policy against the real kernel after every event (bs_peer_hotplug). */
#include "cli.h"
#include "compare_hotplug.h"
#include "barspace/churn.h"
#include "barspace/qemu.h"

#include <stdlib.h>
#include <string.h>

static void path_in(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

bool compare_is_hotplug(const char *dir)
{
    char p[4096];
    path_in(p, sizeof p, dir, "events.trace");
    FILE *f = fopen(p, "r");
    if (f)
        fclose(f);
    return f != NULL;
}

static const char *outcome_name(int o)
{
    switch (o) {
    case BS_OUT_OK: return "done";
    case BS_OUT_PLACED: return "placed";
    case BS_OUT_MOVED: return "moved";
    case BS_OUT_REDUCED: return "reduced";
    default: return "failed";
    }
}

static void print_event(const bs_peer_hp *h, const bs_peer_hp_event *e, int i,
                        bool json)
{
    bool model_failed = e->outcome == BS_OUT_FAILED;
    const char *verdict = e->differ ? "NO" : "yes";
    if (json) {
        printf("%s{\"event\": %d, \"line\": %d, \"device\": ", i ? ", " : "",
               i + 1, e->line);
        cli_json_str(stdout, e->dev);
        printf(", \"guest\": \"%s\", \"barspace\": \"%s\", \"resources\": %d, "
               "\"differ\": %d, \"note\": ",
               e->guest_failed ? "failed" : "ok", outcome_name(e->outcome),
               e->resources, e->differ);
        cli_json_str(stdout, e->msg);
        printf(", \"rows\": [");
    } else {
        printf("%-5d %-6d %-14s %-8s %-8s %4d %5d  %-5s %s\n", i + 1, e->line,
               e->dev, e->guest_failed ? "failed" : "ok",
               model_failed ? "failed" : outcome_name(e->outcome),
               e->resources, e->differ, verdict, e->msg);
    }
    for (int j = 0; j < e->nrows; j++) {
        bs_peer_hp_row r;
        bs_peer_hp_get_row(h, e->first_row + j, &r);
        char gb[48], bb[48];
        res_str(gb, sizeof gb, r.in_guest && r.guest.assigned, r.guest.start,
              r.guest.size);
        if (!r.in_guest)
            snprintf(gb, sizeof gb, "not in guest");
        res_str(bb, sizeof bb, r.assigned, r.addr, r.size);
        if (json) {
            printf("%s{\"device\": ", j ? ", " : "");
            cli_json_str(stdout, r.dev);
            printf(", \"resource\": \"%s\", \"guest\": \"%s\", \"barspace\": "
                   "\"%s\"}", bs_slot_name(r.slot), gb, bb);
        } else {
            printf("      differs: %s %s: guest %s, barspace %s\n", r.dev,
                   bs_slot_name(r.slot), gb, bb);
        }
    }
    if (json)
        printf("]}");
}

int compare_hotplug(const char *dir, const char *topo, const char *append,
                    bool json)
{
    char p[4096];
    bs_error e = {0};
    int rc = EXIT_BADINPUT, nev = 0;
    bs_event *evs = NULL;
    bs_guest *boot = NULL, **after = NULL;
    bs_peer_hp *h = NULL;
    size_t len;
    bs_topo *t = cli_load_topo(topo);
    if (!t)
        return EXIT_BADINPUT;
    path_in(p, sizeof p, dir, "events.trace");
    char *text = cli_read_input(p, BS_MAX_TOPO_FILE, &len);
    if (!text)
        goto out;
    if (bs_events_parse(text, len, p, &evs, &nev, &e) != BS_OK) {
        cli_print_error(&e);
        goto out;
    }
    path_in(p, sizeof p, dir, "console.log");
    if (bs_guest_load(p, &boot, &e) != BS_OK) {
        cli_print_error(&e);
        goto out;
    }
    after = calloc((size_t)nev + 1, sizeof *after);
    if (!after) {
        fprintf(stderr, "barspace: out of memory\n");
        goto out;
    }
    for (int i = 0; i < nev; i++) {
        char name[32];
        snprintf(name, sizeof name, "events/%03d.log", i + 1);
        path_in(p, sizeof p, dir, name);
        if (bs_guest_load(p, &after[i], &e) != BS_OK) {
            cli_print_error(&e);
            fprintf(stderr, "barspace: %s: the run stopped before event %d of "
                    "%d\n", dir, i + 1, nev);
            goto out;
        }
    }
    if (bs_peer_hotplug(t, boot, evs, nev, (const bs_guest *const *)after,
                        append ? append : "", topo, &h, &e) != BS_OK) {
        cli_print_error(&e);
        goto out;
    }
    int n = bs_peer_hp_event_count(h), agree = 0, res = 0, diff = 0;
    int gfail = 0, bfail = 0, fail_agree = 0;
    if (json)
        printf("{\"schema\": \"barspace.compare-hotplug/1\", \"events\": [");
    else
        printf("%-5s %-6s %-14s %-8s %-8s %4s %5s  %-5s %s\n", "event", "line",
               "device", "guest", "barspace", "res", "diff", "agree", "note");
    for (int i = 0; i < n; i++) {
        bs_peer_hp_event ev;
        bs_peer_hp_get_event(h, i, &ev);
        print_event(h, &ev, i, json);
        agree += ev.differ == 0;
        res += ev.resources;
        diff += ev.differ;
        bool bf = ev.outcome == BS_OUT_FAILED;
        gfail += ev.guest_failed;
        bfail += bf;
        fail_agree += (bf == (ev.guest_failed != 0));
    }
    if (json) {
        printf("], \"notes\": [");
        for (int i = 0; i < bs_peer_hp_note_count(h); i++) {
            printf("%s", i ? ", " : "");
            cli_json_str(stdout, bs_peer_hp_note(h, i));
        }
        printf("], \"agree\": %d, \"resources\": %d, \"differ\": %d, "
               "\"guest_failed\": %d, \"barspace_failed\": %d}\n",
               agree, res, diff, gfail, bfail);
    } else {
        for (int i = 0; i < bs_peer_hp_note_count(h); i++)
            printf("note: %s\n", bs_peer_hp_note(h, i));
        printf("summary: events=%d agree=%d resources=%d differ=%d "
               "guest_failed=%d barspace_failed=%d failures_agree=%d exact=%d\n",
               n, agree, res, diff, gfail, bfail, fail_agree, agree == n);
    }
    rc = agree == n ? EXIT_OK : EXIT_FAILED;
out:
    bs_peer_hp_free(h);
    for (int i = 0; after && i < nev; i++)
        bs_guest_free(after[i]);
    free(after);
    bs_guest_free(boot);
    free(evs);
    free(text);
    bs_topo_free(t);
    return rc;
}

int replay_hotplug_machine(const char *trace, bs_topo **t,
                           struct bs_peer_plug **plugs, int *nplugs)
{
    char dir[4096], p[4200];
    snprintf(dir, sizeof dir, "%s", trace);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    *plugs = NULL;
    *nplugs = 0;
    path_in(p, sizeof p, dir, "hotplug.map");
    FILE *f = fopen(p, "r");
    if (!f || !compare_is_hotplug(dir)) {
        if (f)
            fclose(f);
        return EXIT_OK;
    }
    fclose(f);
    size_t mlen, elen;
    char *map = cli_read_input(p, BS_MAX_TOPO_FILE, &mlen);
    char ep[4200];
    path_in(ep, sizeof ep, dir, "events.trace");
    char *ev_text = cli_read_input(ep, BS_MAX_TOPO_FILE, &elen);
    bs_event *evs = NULL;
    int nev = 0, rc = EXIT_BADINPUT;
    bs_error e = {0};
    bs_topo *m = NULL;
    if (!map || !ev_text)
        goto out;
    if (bs_events_parse(ev_text, elen, ep, &evs, &nev, &e) != BS_OK ||
        bs_peer_hp_machine(*t, evs, nev, map, mlen, p, &m, plugs, nplugs,
                           &e) != BS_OK) {
        cli_print_error(&e);
        goto out;
    }
    bs_topo_free(*t);
    *t = m;
    rc = EXIT_OK;
out:
    free(evs);
    free(map);
    free(ev_text);
    return rc;
}
