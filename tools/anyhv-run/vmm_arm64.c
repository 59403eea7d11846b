/* anyhv-run, Apple-silicon flavour: RAM at 0x40000000, the guest started at EL1h with
 * the MMU off, a PL011 UART and a debug-exit register emulated from data-abort exits
 * (decoded from the ESR syndrome exactly as a macOS VMM does), PSCI through HVC/SMC. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>
#include <anyhv/anyhv.h>

#include <inttypes.h>
#include <string.h>

#include "arm64_machine.h"
#include "session.h"

#define WFX_IDLE_LIMIT 100000u   /* consecutive WFI/WFE exits with nothing else: the guest is stuck */
#define VECTOR_TABLE_SIZE 0x800u

struct vmm {
    struct run_session s;
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit;
    struct pl011 uart;
    unsigned idle_wfx;
};

static uint64_t greg(struct vmm *m, hv_reg_t r)
{
    uint64_t v = 0;
    hv_vcpu_get_reg(m->vcpu, r, &v);
    return v;
}

static uint64_t sreg(struct vmm *m, hv_sys_reg_t r)
{
    uint64_t v = 0;
    hv_vcpu_get_sys_reg(m->vcpu, r, &v);
    return v;
}

static void skip_insn(struct vmm *m)
{
    hv_vcpu_set_reg(m->vcpu, HV_REG_PC, greg(m, HV_REG_PC) + 4);
}

/* PSCI over HVC or SMC: the calls a bare-metal guest uses to stop. */
static void psci_call(struct vmm *m)
{
    uint64_t fn = greg(m, HV_REG_X0) & 0xffffffffu;
    if (fn == PSCI_SYSTEM_OFF || fn == PSCI_SYSTEM_RESET)
        session_end(&m->s, RUN_OK);
    else
        hv_vcpu_set_reg(m->vcpu, HV_REG_X0, fn == PSCI_VERSION ? PSCI_VERSION_1_0 : PSCI_NOT_SUPPORTED);
}

static void mmio(struct vmm *m, uint64_t esr)
{
    uint64_t ipa = m->exit->exception.physical_address;
    unsigned size = 1u << ((esr >> ESR_SAS_SHIFT) & ESR_SAS_MASK);
    unsigned srt = (esr >> ESR_SRT_SHIFT) & ESR_SRT_MASK;
    bool write = esr & ESR_WNR;
    if (!(esr & ESR_ISV)) {
        fprintf(stderr, "anyhv-run: guest access to IPA 0x%" PRIx64 " at pc 0x%" PRIx64
                        " cannot be emulated (no instruction syndrome: pair or vector access)\n",
                ipa, greg(m, HV_REG_PC));
        session_end(&m->s, RUN_GUEST_FAULT);
        return;
    }
    uint64_t value = write && srt != 31 ? greg(m, (hv_reg_t)(HV_REG_X0 + srt)) : 0;
    if (m->s.o->trace)
        fprintf(stderr, "[exit] mmio %s ipa 0x%" PRIx64 " size %u value 0x%" PRIx64 " pc 0x%" PRIx64 "\n",
                write ? "write" : "read", ipa, size, value, greg(m, HV_REG_PC));
    if (ipa >= A64M_PL011_BASE && ipa < A64M_PL011_BASE + A64M_PL011_SIZE) {
        if (write)
            pl011_write(&m->uart, ipa - A64M_PL011_BASE, (uint32_t)value);
        else
            value = pl011_read(&m->uart, ipa - A64M_PL011_BASE);
    } else if (ipa == A64M_DEBUG_EXIT && write) {
        skip_insn(m);
        session_end(&m->s, (int)(value & 0xff));
        return;
    } else {
        fprintf(stderr, "anyhv-run: guest %s of %u bytes at IPA 0x%" PRIx64 " (no RAM or device) at pc 0x%" PRIx64 "\n",
                write ? "write" : "read", size, ipa, greg(m, HV_REG_PC));
        session_end(&m->s, RUN_GUEST_FAULT);
        return;
    }
    if (!write && srt != 31) {
        unsigned bits = 8 * size;
        if ((esr & ESR_SSE) && bits < 64 && (value >> (bits - 1)) & 1)
            value |= ~0ull << bits;
        if (!(esr & ESR_SF))
            value &= 0xffffffffu;
        hv_vcpu_set_reg(m->vcpu, (hv_reg_t)(HV_REG_X0 + srt), value);
    }
    skip_insn(m);
}

/* An abort on an instruction fetch at the guest's own vector table means the guest
 * took an exception it has no handler for: report what EL1 saw. */
static void report_fault(struct vmm *m, uint64_t esr, unsigned ec)
{
    uint64_t pc = greg(m, HV_REG_PC), vbar = sreg(m, HV_SYS_REG_VBAR_EL1);
    if ((ec == EC_IABT_LOWER || ec == EC_IABT_SAME) && pc >= vbar && pc < vbar + VECTOR_TABLE_SIZE) {
        uint64_t esr1 = sreg(m, HV_SYS_REG_ESR_EL1);
        fprintf(stderr,
                "anyhv-run: guest exception %s (ESR_EL1 0x%" PRIx64 ") at pc 0x%" PRIx64 ", FAR 0x%" PRIx64
                ", with no handler (VBAR_EL1 0x%" PRIx64 ")\n",
                a64m_ec_name((unsigned)(esr1 >> ESR_EC_SHIFT) & ESR_EC_MASK), esr1, sreg(m, HV_SYS_REG_ELR_EL1),
                sreg(m, HV_SYS_REG_FAR_EL1), vbar);
    } else {
        fprintf(stderr, "anyhv-run: unhandled %s exit (ESR 0x%" PRIx64 ") at pc 0x%" PRIx64 ", address 0x%" PRIx64 "\n",
                a64m_ec_name(ec), esr, pc, m->exit->exception.virtual_address);
    }
    session_end(&m->s, RUN_GUEST_FAULT);
}

static void exception_exit(struct vmm *m)
{
    uint64_t esr = m->exit->exception.syndrome;
    unsigned ec = (unsigned)(esr >> ESR_EC_SHIFT) & ESR_EC_MASK;
    stats_count(&m->s.stats, a64m_ec_name(ec));
    if (ec != EC_WFX)
        m->idle_wfx = 0;
    switch (ec) {
    case EC_DABT_LOWER:
    case EC_DABT_SAME:
        mmio(m, esr);
        return;
    case EC_HVC64:   /* PC is already past the HVC */
        if (m->s.o->trace)
            fprintf(stderr, "[exit] hvc #%u x0 0x%" PRIx64 "\n", (unsigned)(esr & ESR_HVC_IMM_MASK), greg(m, HV_REG_X0));
        psci_call(m);
        return;
    case EC_SMC64:   /* PC is on the SMC */
        if (m->s.o->trace)
            fprintf(stderr, "[exit] smc x0 0x%" PRIx64 "\n", greg(m, HV_REG_X0));
        psci_call(m);
        skip_insn(m);
        return;
    case EC_WFX:
        skip_insn(m);
        if (++m->idle_wfx >= WFX_IDLE_LIMIT) {
            fprintf(stderr, "anyhv-run: guest waits for an interrupt this machine never raises (pc 0x%" PRIx64 ")\n",
                    greg(m, HV_REG_PC));
            session_end(&m->s, RUN_GUEST_FAULT);
        }
        return;
    default:
        report_fault(m, esr, ec);
        return;
    }
}

static hv_return_t run_vcpu(void *ctx)
{
    return hv_vcpu_run(((struct vmm *)ctx)->vcpu);
}

static void handle_exit(void *ctx)
{
    struct vmm *m = ctx;
    switch (m->exit->reason) {
    case HV_EXIT_REASON_EXCEPTION: exception_exit(m); break;
    case HV_EXIT_REASON_CANCELED: stats_count(&m->s.stats, "canceled"); break;
    case HV_EXIT_REASON_VTIMER_ACTIVATED:
        /* No interrupt controller here: the timer stays masked. */
        stats_count(&m->s.stats, "vtimer");
        break;
    default:
        stats_count(&m->s.stats, "unknown");
        fprintf(stderr, "anyhv-run: unknown exit reason %u\n", (unsigned)m->exit->reason);
        session_end(&m->s, RUN_GUEST_FAULT);
        break;
    }
}

static int run_vm(struct vmm *m, uint64_t entry)
{
    if (hv_vm_map(m->s.ram, A64M_RAM_BASE, m->s.ram_size, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) !=
            HV_SUCCESS ||
        hv_vcpu_create(&m->vcpu, &m->exit, NULL) != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: cannot map guest RAM or create the vCPU\n");
        return RUN_UNAVAILABLE;
    }
    hv_vcpu_set_reg(m->vcpu, HV_REG_PC, entry);
    hv_vcpu_set_reg(m->vcpu, HV_REG_CPSR, A64M_PSTATE_EL1H_DAIF);
    hv_vcpu_set_sys_reg(m->vcpu, HV_SYS_REG_SP_EL1, A64M_RAM_BASE + m->s.ram_size);
    const struct session_vcpu v = { m, run_vcpu, handle_exit, m->vcpu, &m->uart, sizeof(m->uart) };
    int status = session_loop(&m->s, &v);
    hv_vcpu_destroy(m->vcpu);
    return status;
}

int vmm_run(const struct run_options *o)
{
    static const struct session_layout layout = { RUN_ARCH_ARM64, A64M_RAM_BASE, 0, A64M_DEFAULT_LOAD,
                                                  A64M_MIN_RAM };
    struct vmm m = { .idle_wfx = 0 };
    uint64_t entry = 0;
    int status = session_prepare(&m.s, o, &layout, &entry);
    if (status == RUN_OK) {
        pl011_init(&m.uart);
        hv_return_t r = hv_vm_create(NULL);
        if (r == HV_SUCCESS) {
            status = run_vm(&m, entry);
            hv_vm_destroy();
        } else {
            status = session_unavailable("hv_vm_create failed", r);
        }
    }
    session_release(&m.s);
    return status;
}
