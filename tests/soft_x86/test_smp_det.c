/* test_smp_det.c - deterministic mode with the Intel in-framework APICs and SMP: three
 * vCPUs on three threads, each with a periodic APIC timer, racing on a shared counter
 * with non-atomic increments, sending a fixed IPI (x2APIC ICR) to the next vCPU round
 * the ring and halting (the HLT handled inside hv_vcpu_run, idle on virtual time) after
 * every 1024 increments; each interrupt handler counts, reports its vector on port 0xe9
 * and EOIs. Run twice, the global exit stream is the same exit for exit: vCPU, vector,
 * RIP, retired instructions and a hash of guest memory - and the final memory. */
#include <criterion/criterion.h>
#include <pthread.h>

#include <anyhv/anyhv.h>

#include "support/backend.h"
#include "x86_guest.h"

#define VCPUS 3u
#define REPORTS 40u                /* per vCPU */
#define MAX_LOG (VCPUS * REPORTS)
#define TIMER_VECTOR 0x40u
#define IPI_VECTOR 0x42u
#define TIMER_HANDLER (XG_CODE + 0x200u)
#define IPI_HANDLER (XG_CODE + 0x280u)

static const uint8_t main_code[] = {
    0xb9, 0x1b, 0x00, 0x00, 0x00, 0x0f, 0x32, 0x0d, 0x00, 0x0c, 0x00, 0x00, 0x0f, 0x30, /* x2APIC on */
    0xb9, 0x0f, 0x08, 0x00, 0x00, 0xb8, 0xff, 0x01, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, /* SVR */
    0xb9, 0x32, 0x08, 0x00, 0x00, 0xb8, TIMER_VECTOR, 0x00, 0x02, 0x00, 0x0f, 0x30,    /* LVT: periodic */
    0xb9, 0x3e, 0x08, 0x00, 0x00, 0xb8, 0x0b, 0x00, 0x00, 0x00, 0x0f, 0x30,            /* divide by 1 */
    0xb9, 0x38, 0x08, 0x00, 0x00, 0xb8, 0xd0, 0x07, 0x00, 0x00, 0x0f, 0x30,            /* count 2000 */
    0xfb,                                                                              /* sti */
    0xb9, 0x00, 0x04, 0x00, 0x00,                   /* loop: mov ecx, 1024 */
    0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x01, 0x00, /* inc: mov rax, [0x10000] */
    0x48, 0xff, 0xc0,                               /* inc rax */
    0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0x01, 0x00, /* mov [0x10000], rax */
    0xff, 0xc9, 0x75, 0xe9,                         /* dec ecx; jnz inc */
    0x48, 0x8d, 0x56, 0x01,                         /* lea rdx, [rsi + 1] */
    0x48, 0x39, 0xfa, 0x72, 0x02, 0x31, 0xd2,       /* cmp rdx, rdi; jb +2; xor edx, edx */
    0xb9, 0x30, 0x08, 0x00, 0x00,                   /* mov ecx, x2APIC ICR */
    0xb8, IPI_VECTOR, 0x00, 0x00, 0x00,             /* mov eax, fixed | vector */
    0x0f, 0x30,                                     /* wrmsr: IPI to APIC rdx */
    0xf4, 0xeb, 0xca,                               /* hlt; jmp loop */
};

/* Count at [0x10100 + 8 * rsi], report the vector, EOI, return. */
static const uint8_t handler_code[] = {
    0x50, 0x51, 0x52,                                       /* push rax, rcx, rdx */
    0x48, 0xff, 0x04, 0xf5, 0x00, 0x01, 0x01, 0x00,         /* inc qword [0x10100 + rsi * 8] */
    0xb0, 0x00,                                             /* mov al, <vector> (patched) */
    0xe6, 0xe9,                                             /* out 0xe9, al */
    0xb9, 0x0b, 0x08, 0x00, 0x00, 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x30, /* x2APIC EOI */
    0x5a, 0x59, 0x58, 0x48, 0xcf,                           /* pop rdx, rcx, rax; iretq */
};
#define HANDLER_VECTOR_BYTE 12

struct report {
    uint32_t vcpu, vector;
    uint64_t rip, icount, mem_hash;
};

struct scenario {
    uint8_t *ram;
    pthread_mutex_t lock;
    pthread_cond_t turn_to_create;
    pthread_barrier_t created;
    uint32_t next_to_create;
    struct report log[MAX_LOG];
    uint32_t nlog;
    bool failed;
};

static uint64_t hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void gate(uint8_t *ram, uint8_t vector, uint64_t handler)
{
    uint64_t *idt = (uint64_t *)(ram + XG_IDT);
    idt[2 * vector] = (handler & 0xffff) | (0x8ull << 16) | (XG_GATE_INT64 << 32);
    idt[2 * vector + 1] = 0;
}

struct worker {
    struct scenario *sc;
    uint32_t id;
};

/* Create vCPU `id` in turn and put it in long mode at the loop; false on failure. */
static bool make_vcpu(struct scenario *sc, uint32_t id, struct xg *g)
{
    pthread_mutex_lock(&sc->lock);
    while (sc->next_to_create != id)
        pthread_cond_wait(&sc->turn_to_create, &sc->lock);
    g->ram = sc->ram;
    bool ok = hv_vcpu_create(&g->vcpu, HV_VCPU_DEFAULT) == HV_SUCCESS && g->vcpu == id;
    ok = ok && xg_ctrl(g, VMCS_CTRL_PIN_BASED, HV_VMX_CAP_PINBASED, 0) == 0 &&
         xg_ctrl(g, VMCS_CTRL_CPU_BASED, HV_VMX_CAP_PROCBASED, CPU_BASED_UNCOND_IO) == 0 &&
         xg_vmcs(g, VMCS_CTRL_EXC_BITMAP, 0xffffffffu) == 0 && xg_long_mode(g) == 0 &&
         xg_vmcs(g, VMCS_GUEST_IDTR_LIMIT, 0xfff) == 0 && xg_vmcs(g, VMCS_GUEST_RSP, XG_STACK_TOP - 0x1000 * id) == 0;
    gate(sc->ram, TIMER_VECTOR, TIMER_HANDLER);   /* after xg_long_mode wrote the tables */
    gate(sc->ram, IPI_VECTOR, IPI_HANDLER);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSI, id);
    hv_vcpu_write_register(g->vcpu, HV_X86_RDI, VCPUS);
    sc->next_to_create++;
    pthread_cond_broadcast(&sc->turn_to_create);
    pthread_mutex_unlock(&sc->lock);
    return ok;
}

static void *vcpu_thread(void *arg)
{
    struct worker *w = arg;
    struct scenario *sc = w->sc;
    struct xg g;
    bool ok = make_vcpu(sc, w->id, &g);
    pthread_barrier_wait(&sc->created);
    for (uint32_t n = 0; ok && n < REPORTS; n++) {
        ok = xg_run_bounded(&g) == HV_SUCCESS && xg_exit_reason(&g) == VMX_REASON_IO;
        if (!ok)
            break;
        uint64_t rip = xg_reg(&g, HV_X86_RIP);
        struct report r = { w->id, (uint32_t)(xg_reg(&g, HV_X86_RAX) & 0xff), rip, 0, hash(sc->ram, XG_RAM_SIZE) };
        anyhv_vcpu_get_instructions(g.vcpu, &r.icount);
        hv_vcpu_write_register(g.vcpu, HV_X86_RIP, rip + xg_read_vmcs(&g, VMCS_RO_VMEXIT_INSTR_LEN));
        pthread_mutex_lock(&sc->lock);   /* the exit keeps the turn: logged in the global order */
        if (sc->nlog < MAX_LOG)
            sc->log[sc->nlog++] = r;
        pthread_mutex_unlock(&sc->lock);
    }
    pthread_mutex_lock(&sc->lock);
    sc->failed |= !ok;
    pthread_mutex_unlock(&sc->lock);
    hv_vcpu_destroy(g.vcpu);
    return NULL;
}

static void run_scenario(struct scenario *sc)
{
    memset(sc, 0, sizeof(*sc));
    pthread_mutex_init(&sc->lock, NULL);
    pthread_cond_init(&sc->turn_to_create, NULL);
    pthread_barrier_init(&sc->created, NULL, VCPUS);
    sc->ram = mmap(NULL, XG_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(sc->ram, MAP_FAILED);
    cr_assert_eq(anyhv_set_deterministic(true), HV_SUCCESS);
    cr_assert_eq(hv_vm_create(HV_VM_ACCEL_APIC), HV_SUCCESS);
    cr_assert_eq(hv_vm_map(sc->ram, 0, XG_RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    memcpy(sc->ram + XG_CODE, main_code, sizeof(main_code));
    memcpy(sc->ram + TIMER_HANDLER, handler_code, sizeof(handler_code));
    sc->ram[TIMER_HANDLER + HANDLER_VECTOR_BYTE] = TIMER_VECTOR;
    memcpy(sc->ram + IPI_HANDLER, handler_code, sizeof(handler_code));
    sc->ram[IPI_HANDLER + HANDLER_VECTOR_BYTE] = IPI_VECTOR;
    pthread_t t[VCPUS];
    struct worker w[VCPUS];
    for (uint32_t i = 0; i < VCPUS; i++) {
        w[i] = (struct worker){ sc, i };
        pthread_create(&t[i], NULL, vcpu_thread, &w[i]);
    }
    for (uint32_t i = 0; i < VCPUS; i++)
        pthread_join(t[i], NULL);
    hv_vm_unmap(0, XG_RAM_SIZE);
    cr_assert_eq(hv_vm_destroy(), HV_SUCCESS);
    anyhv_set_deterministic(false);
    cr_assert_not(sc->failed, "a vCPU stopped on an unexpected exit");
}

static struct scenario first, second;

Test(soft_x86_smp_det, smp_guest_with_ipis_timers_and_hlt_runs_the_same_twice)
{
    test_require_backend();
    if (strcmp(anyhv_backend_name(), "soft") != 0)
        cr_skip_test("deterministic mode is the software route's");
    run_scenario(&first);
    run_scenario(&second);
    cr_assert_eq(first.nlog, MAX_LOG);
    cr_assert_eq(second.nlog, first.nlog);
    uint32_t ipis = 0, timers = 0, switches = 0;
    for (uint32_t i = 0; i < first.nlog; i++) {
        const struct report *a = &first.log[i], *b = &second.log[i];
        cr_expect(a->vcpu == b->vcpu && a->vector == b->vector && a->rip == b->rip && a->icount == b->icount &&
                      a->mem_hash == b->mem_hash,
                  "exit %u differs: vCPU %u/%u vector %#x/%#x icount %llu/%llu", i, a->vcpu, b->vcpu, a->vector,
                  b->vector, (unsigned long long)a->icount, (unsigned long long)b->icount);
        ipis += a->vector == IPI_VECTOR;
        timers += a->vector == TIMER_VECTOR;
        switches += i && a->vcpu != first.log[i - 1].vcpu;
    }
    cr_expect_gt(ipis, VCPUS, "IPIs were taken: %u", ipis);
    cr_expect_gt(timers, VCPUS, "timer interrupts were taken: %u", timers);
    cr_expect_gt(switches, VCPUS, "the vCPUs interleaved: %u switches", switches);
    cr_expect_eq(hash(first.ram, XG_RAM_SIZE), hash(second.ram, XG_RAM_SIZE), "final memory");
}
