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

static void x86_run(const struct bench_engine *e, const char *image, unsigned w, struct bench_result *r)
{
    (void)e;
    (void)w;
    struct uc_run u = { 0 };
    uint8_t *ram = calloc(1, BENCH_RAM_BYTES);
    uint64_t entry = 0, rsp = BENCH_RAM_BYTES;
    uc_err err;
    if (!ram || !bench_load_elf(image, ram, 0, BENCH_RAM_BYTES, &entry, r->error, sizeof(r->error))) {
        free(ram);
        return;
    }
    if ((err = uc_open(UC_ARCH_X86, UC_MODE_64, &u.uc)) != UC_ERR_OK) {
        fail(r, "uc_open", err);
        free(ram);
        return;
    }
    uc_mem_map_ptr(u.uc, 0, BENCH_RAM_BYTES, UC_PROT_ALL, ram);
    uc_mmio_map(u.uc, BENCH_X86_EXIT, BENCH_DEVICE_PAGE, exit_read, &u, exit_write, &u);
    uc_mmio_map(u.uc, BENCH_X86_DEVICE, BENCH_DEVICE_PAGE, dev_read, &u, dev_write, &u);
    uc_reg_write(u.uc, UC_X86_REG_RSP, &rsp);
    double t0 = bench_now();
    err = uc_emu_start(u.uc, entry, 0, 0, 0);
    r->seconds = bench_now() - t0;
    if (err != UC_ERR_OK)
        fail(r, "uc_emu_start", err);
    else {
        memcpy(&r->value, ram + BENCH_X86_RESULT, sizeof(r->value));
        r->exits = u.exits;
        r->ok = true;
    }
    uc_close(u.uc);
    free(ram);
}

static void a64_run(const struct bench_engine *e, const char *image, unsigned w, struct bench_result *r)
{
    (void)e;
    (void)w;
    struct uc_run u = { 0 };
    uint8_t *ram = calloc(1, BENCH_RAM_BYTES);
    uint64_t entry = 0, sp = BENCH_A64_RAM_BASE + BENCH_RAM_BYTES;
    uc_err err;
    if (!ram || !bench_load_elf(image, ram, BENCH_A64_RAM_BASE, BENCH_RAM_BYTES, &entry, r->error, sizeof(r->error))) {
        free(ram);
        return;
    }
    if ((err = uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &u.uc)) != UC_ERR_OK) {
        fail(r, "uc_open", err);
        free(ram);
        return;
    }
    uc_mem_map_ptr(u.uc, BENCH_A64_RAM_BASE, BENCH_RAM_BYTES, UC_PROT_ALL, ram);
    uc_mmio_map(u.uc, BENCH_A64_EXIT, BENCH_DEVICE_PAGE, exit_read, &u, exit_write, &u);
    uc_mmio_map(u.uc, BENCH_A64_DEVICE, BENCH_DEVICE_PAGE, dev_read, &u, dev_write, &u);
    uc_reg_write(u.uc, UC_ARM64_REG_SP, &sp);
    double t0 = bench_now();
    err = uc_emu_start(u.uc, entry, 0, 0, 0);
    r->seconds = bench_now() - t0;
    if (err != UC_ERR_OK)
        fail(r, "uc_emu_start", err);
    else {
        memcpy(&r->value, ram + (BENCH_A64_RESULT - BENCH_A64_RAM_BASE), sizeof(r->value));
        r->exits = u.exits;
        r->ok = true;
    }
    uc_close(u.uc);
    free(ram);
}

const struct bench_engine bench_engine_unicorn_x86 = { "unicorn", BENCH_X86_64, unicorn_available, x86_run, NULL };
const struct bench_engine bench_engine_unicorn_arm64 = { "unicorn", BENCH_ARM64, unicorn_available, a64_run, NULL };
