/* The native engine: the workloads compiled for the host and called directly. */
#include <stdio.h>

#include "bench.h"
#include "guests/boot.h"
#include "guests/workloads.h"

static uint64_t w_int(void) { return bench_int_loop(BENCH_INT_ITERS); }
static uint64_t w_mem(void) { return bench_mem_rmw(BENCH_MEM_UPDATES); }
static uint64_t w_fib(void) { return bench_fib(BENCH_FIB_N); }
static uint64_t w_translate(void) { return bench_translate(); }
static uint64_t w_fp(void) { return bench_fp_loop(BENCH_FP_ITERS); }
static uint64_t w_boot(void) { return bench_boot(); }
static uint64_t w_vec_dot(void) { return bench_vec_dot(BENCH_VEC_DOT_PASSES); }
static uint64_t w_vec_scan(void) { return bench_vec_scan(BENCH_VEC_SCAN_PASSES); }

const struct bench_workload bench_workloads[] = {
    { "int_loop", "integer ALU loop, 4 add/xor/rotate lanes", w_int },
    { "mem_rmw", "16 MiB array, random read-modify-write", w_mem },
    { "fib", "recursive fib(30)", w_fib },
    { "exit_loop", "port I/O (x86) / MMIO (arm64) store+load, each an exit", NULL },
    { "translate", "2048 new functions, each run once", w_translate },
    { "fp_loop", "scalar double add/mul/div chain (SSE2 / A64 FP)", w_fp },
    { "boot", "inflate a gzip image, then 3000 init functions 4 times each", w_boot },
    { "vec_dot", "4096-lane 32-bit dot product x4000, vectorised (AVX2 / AdvSIMD)", w_vec_dot, true },
    { "vec_scan", "memchr-like zero-byte scan of 256 KiB x100 (AVX2 / AdvSIMD)", w_vec_scan, true },
};
const unsigned bench_workload_count = sizeof(bench_workloads) / sizeof(bench_workloads[0]);

/* Native builds of the guest-only device calls: never reached (no native exit loop). */
void bench_device_write(uint32_t v) { (void)v; }
uint32_t bench_device_read(void) { return 0; }

static bool native_available(const struct bench_engine *e, const char **why)
{
    (void)e;
    *why = "";
    return true;
}

static void native_run(const struct bench_engine *e, const char *image, unsigned w, struct bench_result *r)
{
    (void)e;
    (void)image;
    if (!bench_workloads[w].native) {
        r->ok = false;
        return;
    }
    if (bench_workloads[w].avx2 && !__builtin_cpu_supports("avx2")) {
        snprintf(r->error, sizeof(r->error), "unavailable: the host has no AVX2");
        r->ok = false;
        return;
    }
    bench_mem_reset();   /* every engine starts from a zeroed array */
    double t0 = bench_now();
    r->value = bench_workloads[w].native();
    r->seconds = bench_now() - t0;
    r->ok = true;
}

const struct bench_engine bench_engine_native = { "native", BENCH_X86_64, native_available, native_run, NULL,
                                                  NULL };
