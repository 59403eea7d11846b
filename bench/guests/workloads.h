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

uint64_t bench_int_loop(uint64_t iters);
uint64_t bench_mem_rmw(uint64_t updates);
/* Native engine only: the array starts zeroed in a fresh guest; repeat runs reset it. */
void bench_mem_reset(void);
uint64_t bench_fib(uint64_t n);
uint64_t bench_translate(void);
/* workloads_fp.c: the double-precision chain; returns the result's bits. */
uint64_t bench_fp_loop(uint64_t iters);
/* Needs the platform's exit device: guest only. */
uint64_t bench_exit_loop(uint64_t iters);
void bench_device_write(uint32_t v);
uint32_t bench_device_read(void);

#endif
