/* bench workloads: the same C for every engine. Guests build each one as its own
 * image (bench_main picks by BENCH_WORKLOAD); the native engine links them all. */
#ifndef ANYHV_BENCH_WORKLOADS_H
#define ANYHV_BENCH_WORKLOADS_H

#include <stdint.h>

#define BENCH_INT_ITERS 20000000u        /* integer loop iterations */
#define BENCH_MEM_BYTES (16u << 20)      /* memory loop array */
#define BENCH_MEM_UPDATES 4000000u       /* random read-modify-writes */
#define BENCH_FIB_N 30u                  /* recursive fib(n) */
#define BENCH_EXIT_ITERS 5000u           /* OUT+IN (x86) / MMIO store+load (arm64) pairs */
#define BENCH_TRANSLATE_FUNCS 2048u      /* distinct functions, each run once */
#define BENCH_FP_ITERS 2000000u          /* floating-point loop iterations */
#define BENCH_VEC_DOT_LEN 4096u          /* 32-bit lanes in each dot product */
#define BENCH_VEC_DOT_PASSES 4000u       /* dot products */
#define BENCH_VEC_SCAN_BYTES (256u << 10) /* bytes scanned a pass */
#define BENCH_VEC_SCAN_ZEROS 64u         /* zero bytes (matches) a pass finds, about */
#define BENCH_VEC_SCAN_PASSES 100u
#if defined(__aarch64__)
#define BENCH_VEC_STEP 16u               /* bytes a vector compare covers */
#else
#define BENCH_VEC_STEP 32u
#endif

uint64_t bench_int_loop(uint64_t iters);
uint64_t bench_mem_rmw(uint64_t updates);
/* Native engine only: the array starts zeroed in a fresh guest; repeat runs reset it. */
void bench_mem_reset(void);
uint64_t bench_fib(uint64_t n);
uint64_t bench_translate(void);
/* workloads_fp.c: the double-precision chain; returns the result's bits. */
uint64_t bench_fp_loop(uint64_t iters);
/* workloads_vec.c: integer SIMD (AVX2 on x86-64, AdvSIMD on AArch64). */
uint64_t bench_vec_dot(uint64_t passes);
uint64_t bench_vec_scan(uint64_t passes);
/* Needs the platform's exit device: guest only. */
uint64_t bench_exit_loop(uint64_t iters);
void bench_device_write(uint32_t v);
uint32_t bench_device_read(void);

#endif
