/* The Unicorn 2 engines (x86-64 and AArch64): the peer anyhv's software route is
 * measured against. Same images, same devices: port/MMIO hooks play the exit devices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "bench.h"

struct uc_run {
    uc_engine *uc;
    uint64_t exits;
};

static bool unicorn_available(const struct bench_engine *e, const char **why)
{
    (void)e;
    *why = "";
    return true;
}

static void fail(struct bench_result *r, const char *what, uc_err err)
{
    r->ok = false;
    snprintf(r->error, sizeof(r->error), "%s: %s", what, uc_strerror(err));
}

/* The MMIO devices (both ISAs): the exit register stops, the device counts exits. */
static uint64_t dev_read(uc_engine *uc, uint64_t offset, unsigned size, void *user)
{
    struct uc_run *u = user;
    (void)uc;
    (void)offset;
    (void)size;
    u->exits++;
    return 0;
}

static void dev_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *user)
{
    struct uc_run *u = user;
    (void)uc;
    (void)offset;
    (void)size;
    (void)value;
    u->exits++;
}

static void exit_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *user)
{
    (void)offset;
    (void)size;
    (void)value;
    (void)user;
    uc_emu_stop(uc);
}

static uint64_t exit_read(uc_engine *uc, uint64_t offset, unsigned size, void *user)
{
    (void)uc;
    (void)offset;
    (void)size;
    (void)user;
    return 0;
}

/* What differs between the two ISAs' machines. */
struct uc_machine {
    uc_arch arch;
    uc_mode mode;
    uint64_t ram_base, exit_addr, device_addr, result_addr;
    int sp_reg;
};

static const struct uc_machine x86_machine = { UC_ARCH_X86, UC_MODE_64, 0, BENCH_X86_EXIT, BENCH_X86_DEVICE,
                                               BENCH_X86_RESULT, UC_X86_REG_RSP };
static const struct uc_machine a64_machine = { UC_ARCH_ARM64, UC_MODE_ARM, BENCH_A64_RAM_BASE, BENCH_A64_EXIT,
                                               BENCH_A64_DEVICE, BENCH_A64_RESULT, UC_ARM64_REG_SP };

static void run_machine(const struct uc_machine *mc, const char *image, struct bench_result *r)
{
    struct uc_run u = { 0 };
    uint8_t *ram = calloc(1, BENCH_RAM_BYTES);
    uint64_t entry = 0, sp = mc->ram_base + BENCH_RAM_BYTES;
    uc_err err;
    if (!ram || !bench_load_elf(image, ram, mc->ram_base, BENCH_RAM_BYTES, &entry, r->error, sizeof(r->error))) {
        free(ram);
        return;
    }
    if ((err = uc_open(mc->arch, mc->mode, &u.uc)) != UC_ERR_OK) {
        fail(r, "uc_open", err);
        free(ram);
        return;
    }
    uc_mem_map_ptr(u.uc, mc->ram_base, BENCH_RAM_BYTES, UC_PROT_ALL, ram);
    uc_mmio_map(u.uc, mc->exit_addr, BENCH_DEVICE_PAGE, exit_read, &u, exit_write, &u);
    uc_mmio_map(u.uc, mc->device_addr, BENCH_DEVICE_PAGE, dev_read, &u, dev_write, &u);
    uc_reg_write(u.uc, mc->sp_reg, &sp);
    double t0 = bench_now();
    err = uc_emu_start(u.uc, entry, 0, 0, 0);
    r->seconds = bench_now() - t0;
    if (err != UC_ERR_OK) {
        fail(r, "uc_emu_start", err);
    } else {
        memcpy(&r->value, ram + (mc->result_addr - mc->ram_base), sizeof(r->value));
        r->exits = u.exits;
        r->ok = true;
    }
    uc_close(u.uc);
    free(ram);
}

static void x86_run(const struct bench_engine *e, const char *image, unsigned w, struct bench_result *r)
{
    (void)e;
    (void)w;
    run_machine(&x86_machine, image, r);
}

static void a64_run(const struct bench_engine *e, const char *image, unsigned w, struct bench_result *r)
{
    (void)e;
    (void)w;
    run_machine(&a64_machine, image, r);
}

const struct bench_engine bench_engine_unicorn_x86 = { "unicorn", BENCH_X86_64, unicorn_available, x86_run, NULL,
                                                       NULL };
const struct bench_engine bench_engine_unicorn_arm64 = { "unicorn", BENCH_ARM64, unicorn_available, a64_run, NULL,
                                                         NULL };
