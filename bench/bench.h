/* anyhv-bench: the same guest workloads on every engine available here (native code,
 * raw KVM, anyhv on KVM, anyhv's software route, Unicorn 2), in one run, as ratios. */
#ifndef ANYHV_BENCH_H
#define ANYHV_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bench_arch { BENCH_X86_64, BENCH_ARM64 };

/* The machine every guest engine provides (same as anyhv-run's). */
#define BENCH_X86_RESULT 0x90000ull
/* x86 guests run at CPL3 (on a paravirtual KVM such as PVM only user code runs
 * natively, and user-mode port I/O is refused), so their devices are MMIO inside the
 * identity map but outside RAM, accessed only by the 2-byte instructions
 * "mov %eax,(%rdi)" / "mov (%rdi),%eax": a client steps over them by that length. */
#define BENCH_X86_DEVICE 0x3ff00000ull
#define BENCH_X86_EXIT 0x3ff01000ull
#define BENCH_X86_DEVICE_INSN_LEN 2u
#define BENCH_A64_RAM_BASE 0x40000000ull
#define BENCH_A64_RESULT 0x40010000ull
#define BENCH_A64_EXIT 0x09010000ull
#define BENCH_DEVICE_PAGE 0x1000u
#define BENCH_A64_DEVICE 0x09020000ull
#define BENCH_RAM_BYTES (64ull << 20)

struct bench_workload {
    const char *name;
    const char *what;
    uint64_t (*native)(void);   /* NULL: no native form (exit loop) */
    bool avx2;                  /* x86-64 code needs AVX2 (natively: a host with it) */
};
extern const struct bench_workload bench_workloads[];
extern const unsigned bench_workload_count;

struct bench_result {
    bool ok;
    double seconds;        /* guest run time, VM set-up excluded */
    uint64_t value;        /* the workload's result */
    uint64_t icount;       /* guest instructions, 0 if the engine cannot count */
    uint64_t exits;        /* exits the client saw (exit loop) */
    char error[160];
};

/* An engine runs one guest image (path) once. */
struct bench_engine {
    const char *name;
    enum bench_arch arch;
    bool (*available)(const struct bench_engine *e, const char **why);
    void (*run)(const struct bench_engine *e, const char *image, unsigned workload, struct bench_result *r);
    const char *param;      /* engine-specific: backend name for anyhv engines */
    const char *jit;        /* anyhv engines: ANYHV_JIT of the child (NULL: inherited) */
};

double bench_now(void);
/* Loads an ELF image's PT_LOAD segments into ram (guest-physical ram_base..+size). */
bool bench_load_elf(const char *path, uint8_t *ram, uint64_t ram_base, uint64_t ram_size, uint64_t *entry,
                    char *err, size_t errlen);

extern const struct bench_engine bench_engine_native;
extern const struct bench_engine bench_engine_kvm_raw;
extern const struct bench_engine bench_engine_unicorn_x86;
extern const struct bench_engine bench_engine_unicorn_arm64;
extern const struct bench_engine bench_engine_anyhv_x86_kvm;
/* The software route in its two tiers: interpreter only (ANYHV_JIT=off) and tiered
 * (ANYHV_JIT=on: blocks start interpreted, hot code is compiled in the background). */
extern const struct bench_engine bench_engine_anyhv_x86_soft_interp;
extern const struct bench_engine bench_engine_anyhv_x86_soft_jit;
extern const struct bench_engine bench_engine_anyhv_arm64_soft_interp;
extern const struct bench_engine bench_engine_anyhv_arm64_soft_jit;

#endif /* ANYHV_BENCH_H */
