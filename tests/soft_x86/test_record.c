/* test_record.c - library-level record and replay on the Intel flavour (see
 * tests/arm64/test_record.c for the arm64 twin). A deterministic APIC VM: the guest
 * reads port 0x60 (the client answers from a random generator), spins that many times,
 * keeps a running sum in memory and reports it on port 0xe9; the client injects vector
 * 0x41 (hv_vm_lapic_set_intr) after random exits and writes into guest memory now and
 * then; the handler adds the vector to memory and EOIs. Recorded with one seed and
 * replayed with another, the reports are the recorded ones (value, RIP, retired
 * instructions, hash of guest memory); without the log, the other seed differs. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <anyhv/anyhv.h>

#include "support/backend.h"
#include "x86_guest.h"

#define REPORTS 80u
#define VECTOR 0x41u
#define HANDLER_AT (XG_CODE + 0x200u)

static const uint8_t main_code[] = {
    0xb9, 0x1b, 0x00, 0x00, 0x00, 0x0f, 0x32, 0x0d, 0x00, 0x0c, 0x00, 0x00, 0x0f, 0x30, /* x2APIC on */
    0xb9, 0x0f, 0x08, 0x00, 0x00, 0xb8, 0xff, 0x01, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, /* SVR */
    0xfb, 0x31, 0xdb,                               /* sti; xor ebx, ebx */
    0xe4, 0x60,                                     /* loop: in al, 0x60 */
    0x0f, 0xb6, 0xc8,                               /* movzx ecx, al */
    0x01, 0xcb,                                     /* add ebx, ecx */
    0x89, 0x1c, 0x25, 0x00, 0x00, 0x01, 0x00,       /* mov [0x10000], ebx */
    0xe3, 0x04, 0xff, 0xc9, 0xeb, 0xfa,             /* spin: jecxz done; dec ecx; jmp spin */
    0x89, 0xd8, 0xe6, 0xe9,                         /* done: mov eax, ebx; out 0xe9, al */
    0xeb, 0xe6,                                     /* jmp loop */
};

static const uint8_t handler_code[] = {
    0x50, 0x51, 0x52,                               /* push rax, rcx, rdx */
    0x8b, 0x04, 0x25, 0x08, 0x00, 0x01, 0x00,       /* mov eax, [0x10008] */
    0x83, 0xc0, VECTOR,                             /* add eax, 0x41 */
    0x89, 0x04, 0x25, 0x08, 0x00, 0x01, 0x00,       /* mov [0x10008], eax */
    0xb9, 0x0b, 0x08, 0x00, 0x00, 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x30, /* x2APIC EOI */
    0x5a, 0x59, 0x58, 0x48, 0xcf,                   /* pop rdx, rcx, rax; iretq */
};

struct report {
    uint64_t value, rip, icount, mem_hash;
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

static void run(enum mode mode, const char *log, uint64_t seed, struct report *out)
{
    struct xg g;
    cr_assert_eq(anyhv_set_deterministic(true), HV_SUCCESS);
    cr_assert_eq(xg_create_opts(&g, HV_VM_ACCEL_APIC), 0);
    cr_assert_eq(xg_long_mode(&g), 0);
    cr_assert_eq(xg_ctrl(&g, VMCS_CTRL_CPU_BASED, HV_VMX_CAP_PROCBASED, CPU_BASED_UNCOND_IO), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_IDTR_LIMIT, 0xfff), 0);
    memcpy(g.ram + XG_CODE, main_code, sizeof(main_code));
    memcpy(g.ram + HANDLER_AT, handler_code, sizeof(handler_code));
    uint64_t *idt = (uint64_t *)(g.ram + XG_IDT);
    idt[2 * VECTOR] = (HANDLER_AT & 0xffff) | (0x8ull << 16) | (XG_GATE_INT64 << 32);
    idt[2 * VECTOR + 1] = 0;
    if (mode == RECORD)
        cr_assert_eq(anyhv_record_start(log, ANYHV_RECORD_GUEST_MEMORY), HV_SUCCESS);
    if (mode == REPLAY)
        cr_assert_eq(anyhv_replay_start(log, ANYHV_RECORD_GUEST_MEMORY), HV_SUCCESS);
    uint64_t rng = seed;
    for (uint32_t n = 0; n < REPORTS;) {
        cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
        cr_assert_eq(xg_exit_reason(&g), VMX_REASON_IO, "mode %d report %u: exit reason %u", mode, n, xg_exit_reason(&g));
        uint64_t q = xg_read_vmcs(&g, VMCS_RO_EXIT_QUALIFIC), rip = xg_reg(&g, HV_X86_RIP);
        if (q & 8) {   /* IN: the device answers */
            uint64_t rax = xg_reg(&g, HV_X86_RAX);
            hv_vcpu_write_register(g.vcpu, HV_X86_RAX, (rax & ~0xffull) | (next_rand(&rng) & 0x3f));
        } else {
            struct report *r = &out[n++];
            *r = (struct report){ .value = xg_reg(&g, HV_X86_RAX) & 0xff, .rip = rip,
                                  .mem_hash = hash(g.ram, XG_RAM_SIZE) };
            anyhv_vcpu_get_instructions(g.vcpu, &r->icount);
        }
        hv_vcpu_write_register(g.vcpu, HV_X86_RIP, rip + xg_read_vmcs(&g, VMCS_RO_VMEXIT_INSTR_LEN));
        uint64_t dice = next_rand(&rng) % 8;
        if (dice < 2)
            cr_assert_eq(hv_vm_lapic_set_intr(g.vcpu, VECTOR, HV_APIC_EDGE_TRIGGER), HV_SUCCESS);
        else if (dice == 7)
            g.ram[XG_DATA + 0x20 + next_rand(&rng) % 64] = (uint8_t)next_rand(&rng);   /* client DMA */
    }
    if (mode != PLAIN)
        cr_assert_eq(anyhv_record_finish(), HV_SUCCESS);
    xg_destroy(&g);
    anyhv_set_deterministic(false);
}

static struct report recorded[REPORTS], replayed[REPORTS], other[REPORTS];

Test(soft_x86_record, replay_with_another_client_seed_repeats_the_recording)
{
    test_require_backend();
    if (strcmp(anyhv_backend_name(), "soft") != 0)
        cr_skip_test("deterministic mode is the software route's");
    char log[] = "/tmp/anyhv-record-x86-XXXXXX";
    int fd = mkstemp(log);
    cr_assert_geq(fd, 0);
    close(fd);
    run(RECORD, log, 1, recorded);
    run(REPLAY, log, 2, replayed);
    run(PLAIN, NULL, 2, other);
    uint32_t differ = 0;
    for (uint32_t i = 0; i < REPORTS; i++) {
        const struct report *a = &recorded[i], *b = &replayed[i];
        cr_expect(a->value == b->value && a->rip == b->rip && a->icount == b->icount && a->mem_hash == b->mem_hash,
                  "report %u: value %llu/%llu icount %llu/%llu", i, (unsigned long long)a->value,
                  (unsigned long long)b->value, (unsigned long long)a->icount, (unsigned long long)b->icount);
        differ += other[i].icount != a->icount || other[i].mem_hash != a->mem_hash;
    }
    cr_expect_gt(differ, REPORTS / 2, "without the log the other seed gives another run (%u differ)", differ);
    unlink(log);
}

/* anyhv_record_finish from another thread while the vCPU runs: HV_BUSY, and the log
 * stays open (the running vCPU reads it at its exit: closing it then freed it under
 * the vCPU); once the run returned, it closes. The guest counts in memory with no exit
 * until the other thread interrupts it. */
#define COUNTER_WAIT_MS 10000u

struct finisher {
    struct xg *g;
    hv_return_t during;
};

static void *finisher_main(void *arg)
{
    struct finisher *f = arg;
    const uint64_t *counter = (const uint64_t *)(f->g->ram + XG_DATA);   /* the guest stores it meanwhile */
    for (unsigned ms = 0; ms < COUNTER_WAIT_MS && __atomic_load_n(counter, __ATOMIC_RELAXED) == 0; ms++) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    /* HV_ERROR: the guest never ran */
    f->during = __atomic_load_n(counter, __ATOMIC_RELAXED) ? anyhv_record_finish() : HV_ERROR;
    hv_vcpuid_t v = f->g->vcpu;
    hv_vcpu_interrupt(&v, 1);
    return NULL;
}

Test(soft_x86_record, finish_while_a_vcpu_runs_is_busy)
{
    test_require_backend();
    if (strcmp(anyhv_backend_name(), "soft") != 0)
        cr_skip_test("deterministic mode is the software route's");
    char log[] = "/tmp/anyhv-record-x86-XXXXXX";
    int fd = mkstemp(log);
    cr_assert_geq(fd, 0);
    close(fd);
    struct xg g;
    cr_assert_eq(anyhv_set_deterministic(true), HV_SUCCESS);
    cr_assert_eq(xg_create_opts(&g, HV_VM_ACCEL_APIC), 0);
    cr_assert_eq(xg_long_mode(&g), 0);
    const uint8_t count_loop[] = {
        0x48, 0xff, 0x04, 0x25, XG_DATA & 0xff, (XG_DATA >> 8) & 0xff, (XG_DATA >> 16) & 0xff, 0x00, /* inc qword [XG_DATA] */
        0xeb, 0xf6,                                                                                /* jmp back */
    };
    memcpy(g.ram + XG_CODE, count_loop, sizeof(count_loop));
    cr_assert_eq(anyhv_record_start(log, 0), HV_SUCCESS);
    struct finisher f = { .g = &g, .during = HV_SUCCESS };
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, finisher_main, &f), 0);
    hv_return_t ret = hv_vcpu_run(g.vcpu);
    pthread_join(t, NULL);
    cr_assert_eq(ret, HV_SUCCESS);
    cr_expect_eq(f.during, HV_BUSY, "finish during the run: 0x%x", (unsigned)f.during);
    cr_expect_eq(anyhv_record_finish(), HV_SUCCESS, "finish after the run");
    xg_destroy(&g);
    anyhv_set_deterministic(false);
    unlink(log);
}
