/* test_intr_snapshot.c - snapshots carry the Intel in-framework interrupt controllers
 * and the VM's time. A deterministic guest is driven by the local APIC's periodic timer:
 * it spins, halts (the HLT handled inside hv_vcpu_run, idle on virtual time), and its
 * handler counts, reports the count on port 0xe9 while the vector is still in service,
 * then EOIs. The test snapshots at a report mid-run, records the next reports (RIP,
 * retired instructions, value, hash of guest memory, idle time), then restores the file
 * into a fresh VM built the same way and requires the same reports exit for exit. A
 * restore that lost the APIC (timer, in-service vector, x2APIC mode) or the VM's time
 * would report other counts or none (the bounded run then fails). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <anyhv/anyhv.h>

#include "support/backend.h"
#include "x86_guest.h"

#define REPORT_PORT 0xe9u
#define TIMER_VECTOR 0x40u
#define HANDLER_AT (XG_CODE + 0x200u)
#define COUNTER XG_DATA
#define BEFORE 12u
#define AFTER 24u

/* x2APIC on and enabled; periodic timer, vector 0x40, divide by 1, 2000 ticks (20 us at
 * the 100 MHz bus: 20000 instructions of virtual time); then spin 3000 times and halt,
 * forever. */
static const uint8_t main_code[] = {
    0xb9, 0x1b, 0x00, 0x00, 0x00, 0x0f, 0x32, 0x0d, 0x00, 0x0c, 0x00, 0x00, 0x0f, 0x30, /* x2APIC on */
    0xb9, 0x0f, 0x08, 0x00, 0x00, 0xb8, 0xff, 0x01, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, /* SVR */
    0xb9, 0x32, 0x08, 0x00, 0x00, 0xb8, TIMER_VECTOR, 0x00, 0x02, 0x00, 0x0f, 0x30,    /* LVT: periodic */
    0xb9, 0x3e, 0x08, 0x00, 0x00, 0xb8, 0x0b, 0x00, 0x00, 0x00, 0x0f, 0x30,            /* divide by 1 */
    0xb9, 0x38, 0x08, 0x00, 0x00, 0xb8, 0xd0, 0x07, 0x00, 0x00, 0x0f, 0x30,            /* count 2000 */
    0xfb,                                                                              /* sti */
    0xb9, 0xb8, 0x0b, 0x00, 0x00,                                                      /* mov ecx, 3000 */
    0xff, 0xc9, 0x75, 0xfc,                                                            /* dec ecx; jnz */
    0xf4, 0xeb, 0xf4,                                                                  /* hlt; jmp */
};

/* Count, report while in service, EOI, return. */
static const uint8_t handler_code[] = {
    0x50, 0x51, 0x52,                               /* push rax, rcx, rdx */
    0xff, 0x04, 0x25, 0x00, 0x00, 0x01, 0x00,       /* inc dword [COUNTER] */
    0x8b, 0x04, 0x25, 0x00, 0x00, 0x01, 0x00,       /* mov eax, [COUNTER] */
    0xe6, REPORT_PORT,                              /* out 0xe9, al */
    0xb9, 0x0b, 0x08, 0x00, 0x00, 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x30, /* x2APIC EOI */
    0x5a, 0x59, 0x58,                               /* pop rdx, rcx, rax */
    0x48, 0xcf,                                     /* iretq */
};

struct report {
    uint64_t rip, icount, value, mem_hash, idle;
};

static struct xg g;

static uint64_t hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void build(void)
{
    cr_assert_eq(anyhv_set_deterministic(true), HV_SUCCESS);
    cr_assert_eq(xg_create_opts(&g, HV_VM_ACCEL_APIC), 0);
    cr_assert_eq(xg_long_mode(&g), 0);
    cr_assert_eq(xg_ctrl(&g, VMCS_CTRL_CPU_BASED, HV_VMX_CAP_PROCBASED, CPU_BASED_UNCOND_IO), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_IDTR_LIMIT, 0xfff), 0);
    memcpy(g.ram + XG_CODE, main_code, sizeof(main_code));
    memcpy(g.ram + HANDLER_AT, handler_code, sizeof(handler_code));
    uint64_t *idt = (uint64_t *)(g.ram + XG_IDT);
    idt[2 * TIMER_VECTOR] = (HANDLER_AT & 0xffff) | (0x8ull << 16) | (XG_GATE_INT64 << 32);
    idt[2 * TIMER_VECTOR + 1] = 0;
}

static void setup(void)
{
    test_require_backend();
    if (strcmp(anyhv_backend_name(), "soft") != 0)
        cr_skip_test("deterministic mode is the software route's");
    build();
}

static void teardown(void)
{
    xg_destroy(&g);
    anyhv_set_deterministic(false);
}

static void next_report(struct report *r)
{
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_IO, "every exit is a report (got reason %u)", xg_exit_reason(&g));
    uint64_t rip = xg_reg(&g, HV_X86_RIP);
    r->rip = rip;
    r->value = xg_reg(&g, HV_X86_RAX) & 0xff;
    anyhv_vcpu_get_instructions(g.vcpu, &r->icount);
    hv_vcpu_get_idle_time(g.vcpu, &r->idle);
    r->mem_hash = hash(g.ram, XG_RAM_SIZE);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, rip + xg_read_vmcs(&g, VMCS_RO_VMEXIT_INSTR_LEN));
}

TestSuite(intr_snapshot, .init = setup, .fini = teardown);

Test(intr_snapshot, apic_timer_guest_continues_exactly_after_restore)
{
    char path[] = "/tmp/anyhv-intr-snap-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    struct report r, before[AFTER], after[AFTER];
    for (unsigned i = 0; i < BEFORE; i++)
        next_report(&r);
    cr_assert_eq(r.value, BEFORE, "one report per timer interrupt");
    cr_assert_eq(anyhv_vm_snapshot_save(path, NULL, 0), HV_SUCCESS, "%s", anyhv_snapshot_error());
    for (unsigned i = 0; i < AFTER; i++)
        next_report(&before[i]);
    cr_expect_gt(before[AFTER - 1].idle, before[0].idle, "the guest halted between interrupts");
    xg_destroy(&g);

    build();
    cr_assert_eq(anyhv_vm_snapshot_restore(path, NULL, 0, NULL), HV_SUCCESS, "%s", anyhv_snapshot_error());
    hv_apic_state_ext_t s = { .version = HV_APIC_STATE_EXT_VER };
    cr_assert_eq(hv_vcpu_apic_get_state(g.vcpu, &s), HV_SUCCESS);
    cr_expect(s.state.apic_gpa & (1ull << 10), "the restored APIC is in x2APIC mode");
    cr_expect(s.state.isr[TIMER_VECTOR / 32] & (1u << (TIMER_VECTOR % 32)), "the vector is still in service");
    for (unsigned i = 0; i < AFTER; i++) {
        next_report(&after[i]);
        cr_expect_eq(after[i].value, before[i].value, "report %u: value", i);
        cr_expect_eq(after[i].rip, before[i].rip, "report %u: rip", i);
        cr_expect_eq(after[i].icount, before[i].icount, "report %u: instructions %llu vs %llu", i,
                     (unsigned long long)after[i].icount, (unsigned long long)before[i].icount);
        cr_expect_eq(after[i].idle, before[i].idle, "report %u: idle time", i);
        cr_expect_eq(after[i].mem_hash, before[i].mem_hash, "report %u: memory", i);
    }
    unlink(path);
}

/* The snapshot of an APIC VM does not load into a VM without the devices, nor the
 * other way round, and the VM is untouched. */
Test(intr_snapshot, device_state_must_match_the_vm)
{
    char path[] = "/tmp/anyhv-intr-snap-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    struct report r;
    next_report(&r);
    cr_assert_eq(anyhv_vm_snapshot_save(path, NULL, 0), HV_SUCCESS, "%s", anyhv_snapshot_error());
    xg_destroy(&g);
    cr_assert_eq(xg_create(&g), 0);   /* no HV_VM_ACCEL_APIC */
    cr_expect_eq(anyhv_vm_snapshot_restore(path, NULL, 0, NULL), HV_BAD_ARGUMENT);
    cr_expect(strstr(anyhv_snapshot_error(), "does not belong") != NULL, "message: %s", anyhv_snapshot_error());
    unlink(path);
}

/* anyhv_vm_fork: the child runs on from the fork, then the parent does; both report
 * the same (in deterministic mode the continuation is a function of the state), and
 * the child's run - which ran first and wrote its own copy of guest memory - changed
 * nothing in the parent's (with shared memory the parent would count on from where the
 * child stopped). */
Test(intr_snapshot, forked_vm_runs_on_independently)
{
    struct report r, mine[AFTER], theirs[AFTER];
    for (unsigned i = 0; i < BEFORE; i++)
        next_report(&r);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = -1;
    cr_assert_eq(anyhv_vm_fork(&pid), HV_SUCCESS);
    if (pid == 0) {
        close(fds[0]);
        for (unsigned i = 0; i < AFTER; i++) {
            if (hv_vcpu_run_until(g.vcpu, xg_now_ns() + XG_RUN_DEADLINE_NS) != HV_SUCCESS ||
                xg_exit_reason(&g) != VMX_REASON_IO)
                _exit(1);
            struct report c = { .rip = xg_reg(&g, HV_X86_RIP), .value = xg_reg(&g, HV_X86_RAX) & 0xff };
            anyhv_vcpu_get_instructions(g.vcpu, &c.icount);
            hv_vcpu_get_idle_time(g.vcpu, &c.idle);
            c.mem_hash = hash(g.ram, XG_RAM_SIZE);
            hv_vcpu_write_register(g.vcpu, HV_X86_RIP, c.rip + xg_read_vmcs(&g, VMCS_RO_VMEXIT_INSTR_LEN));
            if (write(fds[1], &c, sizeof(c)) != (ssize_t)sizeof(c))
                _exit(2);
        }
        _exit(0);
    }
    close(fds[1]);
    cr_assert_gt(pid, 0);
    int status = -1;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child ran its %u reports (status %#x)", AFTER,
              status);
    for (unsigned i = 0; i < AFTER; i++)
        cr_assert_eq(read(fds[0], &theirs[i], sizeof(theirs[i])), (ssize_t)sizeof(theirs[i]));
    close(fds[0]);
    for (unsigned i = 0; i < AFTER; i++) {
        next_report(&mine[i]);
        cr_expect(mine[i].value == theirs[i].value && mine[i].rip == theirs[i].rip &&
                      mine[i].icount == theirs[i].icount && mine[i].idle == theirs[i].idle &&
                      mine[i].mem_hash == theirs[i].mem_hash,
                  "report %u: value %llu/%llu icount %llu/%llu", i, (unsigned long long)mine[i].value,
                  (unsigned long long)theirs[i].value, (unsigned long long)mine[i].icount,
                  (unsigned long long)theirs[i].icount);
    }
    cr_expect_eq(mine[0].value, BEFORE + 1, "the parent counts on from the fork, not from the child's end");
}
