/* anyhv-bench: every workload on every engine available here, in one run; prints one
 * table (median time, guest MIPS, ratio to native, to Unicorn and to the interpreter-only
 * software route) as text or Markdown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAX_RUNS 31
#define DEFAULT_RUNS 5

/* The native engine comes first: its result is every row's reference. */
static const struct bench_engine *const engines[] = {
    &bench_engine_native,
    &bench_engine_kvm_raw,
    &bench_engine_anyhv_x86_kvm,
    &bench_engine_anyhv_x86_soft_interp,
    &bench_engine_anyhv_x86_soft_jit,
    &bench_engine_unicorn_x86,
    &bench_engine_anyhv_arm64_soft_interp,
    &bench_engine_anyhv_arm64_soft_jit,
    &bench_engine_unicorn_arm64,
};
#define ENGINE_COUNT (sizeof(engines) / sizeof(engines[0]))

struct cell {
    bool ok;
    double median;
    uint64_t value, icount, exits;
    char error[160];
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void measure(const struct bench_engine *e, const char *image, unsigned w, unsigned runs, struct cell *c)
{
    double t[MAX_RUNS];
    unsigned n = 0;
    for (unsigned i = 0; i < runs; i++) {
        struct bench_result r = { 0 };
        e->run(e, image, w, &r);
        if (!r.ok) {
            snprintf(c->error, sizeof(c->error), "%s", r.error[0] ? r.error : "not applicable");
            return;
        }
        t[n++] = r.seconds;
        c->value = r.value;
        c->icount = r.icount ? r.icount : c->icount;
        c->exits = r.exits;
    }
    qsort(t, n, sizeof(t[0]), cmp_double);
    c->median = t[n / 2];
    c->ok = true;
}

static const char *arch_dir(enum bench_arch a) { return a == BENCH_X86_64 ? "x86_64" : "aarch64"; }
static const char *arch_name(enum bench_arch a) { return a == BENCH_X86_64 ? "x86_64" : "arm64"; }

/* What a row is compared with: the same architecture's native, Unicorn and
 * interpreter-only cells (NULL when absent), and the reference result: the native
 * one, since the workloads are the same C on both ISAs and every engine of either
 * architecture must compute the same value. */
struct row_refs {
    const struct cell *native, *unicorn, *interp, *reference;
    uint64_t icount;
};

static void ratio(char *out, size_t len, const struct cell *c, const struct cell *base)
{
    if (base && base->ok)
        snprintf(out, len, "%.2f", c->median / base->median);
}

static void print_row(bool md, unsigned w, const struct bench_engine *e, const struct cell *c, const struct row_refs *r)
{
    char t[32] = "-", mips[32] = "-", xn[32] = "-", xu[32] = "-", xi[32] = "-", note[200] = "";
    if (c->ok) {
        snprintf(t, sizeof(t), "%.2f", c->median * 1e3);
        if (r->icount) {
            double m = (double)r->icount / c->median / 1e6;
            snprintf(mips, sizeof(mips), m < 10 ? "%.1f" : "%.0f", m);
        }
        ratio(xn, sizeof(xn), c, r->native);
        ratio(xu, sizeof(xu), c, r->unicorn);
        ratio(xi, sizeof(xi), c, r->interp);
        const struct cell *unicorn = r->unicorn, *ref = r->reference && r->reference->ok ? r->reference : unicorn;
        if (ref && ref->ok && ref->value != c->value)
            snprintf(note, sizeof(note), "RESULT DIFFERS (0x%llx vs 0x%llx)", (unsigned long long)c->value,
                     (unsigned long long)ref->value);
        else if (c->exits)
            snprintf(note, sizeof(note), "%.3f us/exit", c->median * 1e6 / (double)c->exits);
    } else {
        snprintf(note, sizeof(note), "%s", c->error);
    }
    const char *fmt = md ? "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n"
                         : "%-10s %-7s %-17s %10s %8s %9s %9s %9s  %s\n";
    printf(fmt, bench_workloads[w].name, arch_name(e->arch), e->name, t, mips, xn, xu, xi, note);
}

int main(int argc, char **argv)
{
    unsigned runs = DEFAULT_RUNS;
    bool md = false;
    const char *guest_dir = ANYHV_BENCH_GUEST_DIR, *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--markdown"))
            md = true;
        else if (!strcmp(argv[i], "--workload") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--guests") && i + 1 < argc)
            guest_dir = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--runs N] [--workload NAME] [--markdown] [--guests DIR]\n", argv[0]);
            return 2;
        }
    }
    if (runs == 0 || runs > MAX_RUNS)
        runs = DEFAULT_RUNS;
    if (md)
        printf("| workload | arch | engine | time ms (median of %u) | guest MIPS | x native | x unicorn | x interp | note |\n"
               "|---|---|---|---:|---:|---:|---:|---:|---|\n", runs);
    else
        printf("%-10s %-7s %-17s %10s %8s %9s %9s %9s  %s\n", "workload", "arch", "engine", "time ms", "MIPS",
               "x native", "x unicorn", "x interp", "note");
    for (unsigned w = 0; w < bench_workload_count; w++) {
        if (only && strcmp(only, bench_workloads[w].name))
            continue;
        struct cell cells[ENGINE_COUNT] = { 0 };
        for (unsigned e = 0; e < ENGINE_COUNT; e++) {
            char image[1024];
            const char *why = NULL;
            snprintf(image, sizeof(image), "%s/%s/bench_%s.elf", guest_dir, arch_dir(engines[e]->arch),
                     bench_workloads[w].name);
            if (!engines[e]->available(engines[e], &why))
                snprintf(cells[e].error, sizeof(cells[e].error), "unavailable: %s", why);
            else
                measure(engines[e], image, w, runs, &cells[e]);
        }
        for (unsigned e = 0; e < ENGINE_COUNT; e++) {
            struct row_refs r = { .reference = &cells[0] };
            for (unsigned o = 0; o < ENGINE_COUNT; o++) {
                if (engines[o]->arch != engines[e]->arch)
                    continue;
                if (engines[o] == &bench_engine_native)
                    r.native = &cells[o];
                if (!strcmp(engines[o]->name, "unicorn"))
                    r.unicorn = &cells[o];
                if (engines[o]->jit && !strcmp(engines[o]->jit, "off"))
                    r.interp = &cells[o];
                if (cells[o].ok && cells[o].icount)
                    r.icount = cells[o].icount;   /* the soft route counts; same image, same count */
            }
            print_row(md, w, engines[e], &cells[e], &r);
        }
    }
    return 0;
}
