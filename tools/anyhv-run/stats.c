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

void stats_print(const struct run_stats *s, const char *backend, long long instructions, FILE *f)
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
}
