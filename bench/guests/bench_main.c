/* The entry of each bench guest image: runs the workload chosen at build time and
 * returns its result, which start.S stores at the platform's result slot. */
#include "workloads.h"

/* Workload ids, in the order of BENCH_WORKLOADS in bench/CMakeLists.txt. */
#define W_INT_LOOP 1
#define W_MEM_RMW 2
#define W_FIB 3
#define W_EXIT_LOOP 4
#define W_TRANSLATE 5
#define W_FP_LOOP 6
#define W_BOOT 7
#define W_VEC_DOT 8
#define W_VEC_SCAN 9

#if BENCH_WORKLOAD == W_BOOT
#include "boot.h"   /* only the boot images build with its generated sources */
#endif

uint64_t bench_main(void);

uint64_t bench_main(void)
{
#if BENCH_WORKLOAD == W_INT_LOOP
    return bench_int_loop(BENCH_INT_ITERS);
#elif BENCH_WORKLOAD == W_MEM_RMW
    return bench_mem_rmw(BENCH_MEM_UPDATES);
#elif BENCH_WORKLOAD == W_FIB
    return bench_fib(BENCH_FIB_N);
#elif BENCH_WORKLOAD == W_EXIT_LOOP
    return bench_exit_loop(BENCH_EXIT_ITERS);
#elif BENCH_WORKLOAD == W_TRANSLATE
    return bench_translate();
#elif BENCH_WORKLOAD == W_FP_LOOP
    return bench_fp_loop(BENCH_FP_ITERS);
#elif BENCH_WORKLOAD == W_BOOT
    return bench_boot();
#elif BENCH_WORKLOAD == W_VEC_DOT
    return bench_vec_dot(BENCH_VEC_DOT_PASSES);
#elif BENCH_WORKLOAD == W_VEC_SCAN
    return bench_vec_scan(BENCH_VEC_SCAN_PASSES);
#else
#error "BENCH_WORKLOAD must name a workload"
#endif
}
