/* test_record.c - record and replay at the library level (anyhv_record_start /
 * anyhv_replay_start). The guest (rr_device.S) reads a device register on every turn
 * of its loop, spins as long as the value says, keeps a running sum in memory and
 * reports it; its IRQ handler adds each INTID to memory. The client answers the device
 * from a random generator, pulses edge-triggered SPI 40 (hv_gic_set_spi) after random
 * exits, and now and then writes into guest memory itself - so the run depends on the
 * generator's seed. Recorded with one seed and replayed with another, the replay gives
 * the recorded reports exactly (value, pc, retired instructions, virtual time, hash of
 * guest memory), and anyhv_record_finish says it followed the log; run with the other
 * seed and no replay, the reports differ (the control that the seed matters). */
#include "a64_test.h"

#include <anyhv/anyhv.h>   /* after a64_test.h, which picks the flavour */
#include <unistd.h>

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x20000ull
#define DATA (RAM_BASE + 0x10000ull)
#define DEVICE 0x09000000ull
#define GICD_BASE 0x08000000ull
#define GICR_BASE 0x080a0000ull
#define SPI 40u
#define REPORTS 80u

struct report {
    uint64_t value, pc, icount, time, mem_hash;
};

static uint64_t hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

enum mode { PLAIN, RECORD, REPLAY };

/* One run of the scenario; the reports go to out. */
static void run(enum mode mode, const char *log, uint64_t seed, struct report *out)
{
    uint8_t *mem = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(mem, MAP_FAILED);
    cr_assert_eq(anyhv_set_deterministic(true), HV_SUCCESS);
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS);
    cr_assert_eq(hv_vm_map(mem, RAM_BASE, RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    hv_gic_config_t c = hv_gic_config_create();
    cr_assert_eq(hv_gic_config_set_distributor_base(c, GICD_BASE), HV_SUCCESS);
    cr_assert_eq(hv_gic_config_set_redistributor_base(c, GICR_BASE), HV_SUCCESS);
    cr_assert_eq(hv_gic_create(c), HV_SUCCESS);
    os_release(c);
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit;
    cr_assert_eq(hv_vcpu_create(&vcpu, &exit, NULL), HV_SUCCESS);
    char path[512];
    snprintf(path, sizeof(path), "%s/aarch64/rr_device.bin", ANYHV_GUEST_DIR);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "guest %s", path);
    cr_assert_gt(fread(mem, 1, 0x10000, f), 0);
    fclose(f);
    hv_ipa_t rd = 0;
    hv_gic_get_redistributor_base(vcpu, &rd);
    hv_vcpu_set_reg(vcpu, HV_REG_X0, GICD_BASE);
    hv_vcpu_set_reg(vcpu, HV_REG_X1, rd);
    hv_vcpu_set_reg(vcpu, HV_REG_X2, DEVICE);
    hv_vcpu_set_reg(vcpu, HV_REG_X3, DATA);
    hv_vcpu_set_reg(vcpu, HV_REG_PC, RAM_BASE);
    hv_vcpu_set_reg(vcpu, HV_REG_CPSR, 0x3c5);
    if (mode == RECORD)
        cr_assert_eq(anyhv_record_start(log, ANYHV_RECORD_GUEST_MEMORY), HV_SUCCESS);
    if (mode == REPLAY)
        cr_assert_eq(anyhv_replay_start(log, ANYHV_RECORD_GUEST_MEMORY), HV_SUCCESS);
    uint64_t rng = seed;
    for (uint32_t n = 0; n < REPORTS;) {
        cr_assert_eq(hv_vcpu_run(vcpu), HV_SUCCESS);
        cr_assert_eq(exit->reason, HV_EXIT_REASON_EXCEPTION);
        uint64_t esr = exit->exception.syndrome, pc = 0, value = 0;
        cr_assert_eq(ESR_EC(esr), EC_DABT_LOWER, "exit ESR %#llx", (unsigned long long)esr);
        hv_reg_t reg = (hv_reg_t)(HV_REG_X0 + DABT_SRT(esr));
        hv_vcpu_get_reg(vcpu, HV_REG_PC, &pc);
        if (DABT_WNR(esr)) {
            hv_vcpu_get_reg(vcpu, reg, &value);
            struct report *r = &out[n++];
            *r = (struct report){ .value = value & 0xffffffffu, .pc = pc, .mem_hash = hash(mem, RAM_SIZE) };
            anyhv_vcpu_get_instructions(vcpu, &r->icount);
            hv_vcpu_get_exec_time(vcpu, &r->time);
        } else {
            hv_vcpu_set_reg(vcpu, reg, next_rand(&rng) & 0x3ff);   /* the device's answer */
        }
        hv_vcpu_set_reg(vcpu, HV_REG_PC, pc + 4);
        uint64_t dice = next_rand(&rng) % 8;
        if (dice < 2) {
            /* An interrupt from the outside world: an edge on the SPI's line. */
            cr_assert_eq(hv_gic_set_spi(SPI, true), HV_SUCCESS);
            cr_assert_eq(hv_gic_set_spi(SPI, false), HV_SUCCESS);
        } else if (dice == 7) {
            mem[DATA - RAM_BASE + 0x20 + next_rand(&rng) % 64] = (uint8_t)next_rand(&rng);   /* client DMA */
        }
    }
    if (mode != PLAIN)
        cr_assert_eq(anyhv_record_finish(), HV_SUCCESS, "the %s followed the log", mode == REPLAY ? "replay" : "record");
    hv_vcpu_destroy(vcpu);
    cr_assert_eq(hv_vm_destroy(), HV_SUCCESS);
    munmap(mem, RAM_SIZE);
    anyhv_set_deterministic(false);
}

static struct report recorded[REPORTS], replayed[REPORTS], other[REPORTS];

Test(arm64_record, replay_with_another_client_seed_repeats_the_recording)
{
    test_require_backend();
    if (anyhv_get_backend() != ANYHV_BACKEND_SOFT)
        cr_skip_test("deterministic mode and the in-framework GIC are the software route's");
    char log[] = "/tmp/anyhv-record-XXXXXX";
    int fd = mkstemp(log);
    cr_assert_geq(fd, 0);
    close(fd);
    run(RECORD, log, 1, recorded);
    run(REPLAY, log, 2, replayed);
    run(PLAIN, NULL, 2, other);
    uint32_t differ = 0;
    for (uint32_t i = 0; i < REPORTS; i++) {
        const struct report *a = &recorded[i], *b = &replayed[i];
        cr_expect(a->value == b->value && a->pc == b->pc && a->icount == b->icount && a->time == b->time &&
                      a->mem_hash == b->mem_hash,
                  "report %u: value %llu/%llu icount %llu/%llu", i, (unsigned long long)a->value,
                  (unsigned long long)b->value, (unsigned long long)a->icount, (unsigned long long)b->icount);
        differ += other[i].icount != a->icount || other[i].mem_hash != a->mem_hash;
    }
    cr_expect_gt(differ, REPORTS / 2, "without the log the other seed gives another run (%u reports differ)", differ);
    cr_expect_gt(recorded[REPORTS - 1].icount, 0);
    unlink(log);
}

/* A log of another VM shape (no GIC) is refused. */
Test(arm64_record, log_of_another_vm_is_refused)
{
    test_require_backend();
    if (anyhv_get_backend() != ANYHV_BACKEND_SOFT)
        cr_skip_test("deterministic mode is the software route's");
    char log[] = "/tmp/anyhv-record-XXXXXX";
    int fd = mkstemp(log);
    cr_assert_geq(fd, 0);
    close(fd);
    run(RECORD, log, 1, recorded);
    cr_assert_eq(anyhv_set_deterministic(true), HV_SUCCESS);
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS);
    cr_expect_eq(anyhv_replay_start(log, ANYHV_RECORD_GUEST_MEMORY), HV_BAD_ARGUMENT);
    cr_assert_eq(anyhv_set_deterministic(false), HV_SUCCESS);
    cr_expect_eq(anyhv_record_start(log, ANYHV_RECORD_GUEST_MEMORY), HV_UNSUPPORTED, "not deterministic");
    hv_vm_destroy();
    unlink(log);
}
