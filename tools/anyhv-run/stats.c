/* anyhv-run summary: exits counted by kind, wall time, backend and instructions. */
#include <string.h>

#include "run.h"

void stats_start(struct run_stats *s)
{
    memset(s, 0, sizeof(*s));
    clock_gettime(CLOCK_MONOTONIC, &s->start);
}

void stats_count(struct run_stats *s, const char *kind)
{
    s->total++;
    for (unsigned i = 0; i < RUN_STATS_KINDS; i++) {
        if (!s->by_kind[i].kind)
            s->by_kind[i].kind = kind;
        if (!strcmp(s->by_kind[i].kind, kind)) {
            s->by_kind[i].count++;
            return;
        }
    }
}

/* The software route's tiers: blocks translated, where block runs went, and what the
 * compiled tier cost. */
static void exec_print(const anyhv_exec_stats_t *x, FILE *f)
{
    static const char *const modes[] = { "off", "on", "eager" };
    fprintf(f, "anyhv-run: jit %s, %llu blocks translated, %llu compiled (%llu refused) in %llu units, "
               "%.1f ms compiling, %llu KiB of code; block runs: %llu interpreted, %llu compiled\n",
            x->jit_mode < 3 ? modes[x->jit_mode] : "?", (unsigned long long)x->blocks_translated,
            (unsigned long long)x->blocks_compiled, (unsigned long long)x->blocks_refused,
            (unsigned long long)x->compile_units, (double)x->compile_ns / 1e6, (unsigned long long)(x->code_bytes / 1024),
            (unsigned long long)x->runs_interpreted, (unsigned long long)x->runs_compiled);
}

void stats_print(const struct run_stats *s, const char *backend, long long instructions,
                 const anyhv_exec_stats_t *exec, FILE *f)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double wall = (double)(now.tv_sec - s->start.tv_sec) + (double)(now.tv_nsec - s->start.tv_nsec) / 1e9;
    fprintf(f, "anyhv-run: backend %s", backend);
    if (instructions >= 0)
        fprintf(f, ", %lld guest instructions", instructions);
    else
        fprintf(f, ", guest instructions not counted on this backend");
    fprintf(f, ", %llu exits (", (unsigned long long)s->total);
    for (unsigned i = 0; i < RUN_STATS_KINDS && s->by_kind[i].kind; i++)
        fprintf(f, "%s%s %llu", i ? ", " : "", s->by_kind[i].kind, (unsigned long long)s->by_kind[i].count);
    fprintf(f, "), wall %.3f s\n", wall);
    if (exec)
        exec_print(exec, f);
}
