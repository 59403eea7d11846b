/* anyhv-run, Apple-silicon flavour: what the VMM does with each exit, decoded from
 * the ESR syndrome as a macOS VMM does: MMIO to the PL011 and the debug-exit register,
 * PSCI over HVC/SMC, the system registers a VMM answers on this API (the EL1
 * physical timer, the OS lock, the PMU as absent), WFI, and on the board a synchronous
 * external abort injected for an access with nothing behind it. */
#include <inttypes.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "a64_vmm.h"

#define WFX_TI_WFE 1u            /* ESR ISS.TI: the instruction was WFE */
#define WFX_IDLE_LIMIT 100000u   /* plain mode: consecutive WFI/WFE with nothing else */
#define VECTOR_TABLE_SIZE 0x800u
#define WFI_POLL_NS 1000000L     /* board, SMP: how often a waiting vCPU looks for interrupts */
#define WFI_IDLE_MAX_NS 50000000L  /* board, one vCPU: longest sleep between looks */
#define WFE_IDLE_NS 4096u        /* deterministic WFE without the event stream: a turn's worth */
#define CNTKCTL_EVNTEN (1u << 2)
#define CNTKCTL_EVNTI_SHIFT 4
#define CNTKCTL_EVNTI_MASK 15u
#define CNT_CTL_ENABLE 1u
#define CNT_CTL_IMASK 2u
#define CNT_CTL_ISTATUS 4u
#define GICR_ISENABLER0 0x10100u
#define GICR_ISPENDR0 0x10200u
#define GICD_ISENABLER1 0x0104u
#define GICD_ISPENDR1 0x0204u
/* EC 0x18 ISS fields and the registers answered here (op0:op1:CRn:CRm:op2). */
#define SYS_DIR_READ 1u
#define SYS_RT(iss) (((iss) >> 5) & 31u)
#define SYS_ID(iss) ((((iss) >> 20) & 3u) << 14 | (((iss) >> 14) & 7u) << 11 | (((iss) >> 10) & 15u) << 7 | \
                     (((iss) >> 1) & 15u) << 3 | (((iss) >> 17) & 7u))
#define SR(op0, op1, crn, crm, op2) ((op0) << 14 | (op1) << 11 | (crn) << 7 | (crm) << 3 | (op2))
#define SR_OSLAR SR(2, 0, 1, 0, 4)
#define SR_OSLSR SR(2, 0, 1, 1, 4)
#define SR_CNTP_TVAL SR(3, 3, 14, 2, 0)
#define SR_CNTP_CTL SR(3, 3, 14, 2, 1)
#define SR_CNTP_CVAL SR(3, 3, 14, 2, 2)
#define OSLSR_OSLM_IMPLEMENTED (1u << 3)
#define OSLSR_OSLK (1u << 1)
/* Synchronous external abort injected into the guest. */
#define FSC_SYNC_EXTERNAL 0x10u
#define DABT_WNR (1u << 6)
#define VEC_CURRENT_SP0 0x000u
#define VEC_CURRENT_SPX 0x200u
#define VEC_LOWER_A64 0x400u
#define CPSR_EL_SHIFT 2
#define CPSR_SPSEL 1u

/* Nanoseconds as counter ticks at A64M_CNTFRQ, seconds and remainder apart (the
 * library's own conversion, so both sides agree to the tick). */
static uint64_t ns_to_counter(uint64_t sec, uint64_t nsec)
{
    return sec * A64M_CNTFRQ + nsec * A64M_CNTFRQ / 1000000000u;
}

/* The counter the guest's CNTPCT_EL0 reads on the host clock: anyhv counts
 * CLOCK_MONOTONIC at 24 MHz (what mach_absolute_time() is to a macOS VMM). */
static uint64_t host_counter(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ns_to_counter((uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec);
}

/* The counter c's CNTPCT_EL0 reads now. In deterministic mode that is the vCPU's
 * virtual time, which hv_vcpu_get_exec_time gives at an exit (retired instructions
 * plus idle credit): the EL1 physical timer then counts in the same time as the
 * guest's counter and virtual timer, and never sees the host's. */
static uint64_t vm_counter(struct a64_cpu *c)
{
    if (!c->m->det)
        return host_counter();
    uint64_t ns = 0;
    hv_vcpu_get_exec_time(c->vcpu, &ns);
    return ns_to_counter(ns / 1000000000u, ns % 1000000000u);
}

bool a64_done(struct a64_machine *m)
{
    return __atomic_load_n(&m->s.done, __ATOMIC_ACQUIRE);
}

static void end(struct a64_cpu *c, int status)
{
    pthread_mutex_lock(&c->m->lock);
    if (!c->m->s.done)
        session_end(&c->m->s, status);
    pthread_cond_broadcast(&c->m->power_changed);
    pthread_mutex_unlock(&c->m->lock);
    a64_stop_all(c->m, c);
}

static void count(struct a64_cpu *c, const char *kind)
{
    pthread_mutex_lock(&c->m->lock);
    stats_count(&c->m->s.stats, kind);
    pthread_mutex_unlock(&c->m->lock);
}

static uint64_t greg(struct a64_cpu *c, hv_reg_t r)
{
    uint64_t v = 0;
    hv_vcpu_get_reg(c->vcpu, r, &v);
    return v;
}

static void sreg_set(struct a64_cpu *c, hv_sys_reg_t r, uint64_t v)
{
    hv_vcpu_set_sys_reg(c->vcpu, r, v);
}

static uint64_t sreg(struct a64_cpu *c, hv_sys_reg_t r)
{
    uint64_t v = 0;
    hv_vcpu_get_sys_reg(c->vcpu, r, &v);
    return v;
}

static void skip_insn(struct a64_cpu *c)
{
    hv_vcpu_set_reg(c->vcpu, HV_REG_PC, greg(c, HV_REG_PC) + 4);
}

static void set_xt(struct a64_cpu *c, unsigned rt, uint64_t v)
{
    if (rt != 31)
        hv_vcpu_set_reg(c->vcpu, (hv_reg_t)(HV_REG_X0 + rt), v);
}

/* The UART's interrupt line into the GIC follows its masked status (board only). */
static void uart_update(struct a64_machine *m)
{
    bool level = pl011_irq_level(&m->uart);
    if (m->board && level != m->uart_line) {
        m->uart_line = level;
        hv_gic_set_spi(A64M_UART_INTID, level);
    }
}

/* Board: the guest takes a synchronous external abort at the access, through its
 * own vectors, as hardware reports a bus error (ESR_EL1 EC 0x24/0x25, DFSC 0x10). */
static void inject_sea(struct a64_cpu *c, uint64_t esr, bool fetch)
{
    uint64_t cpsr = greg(c, HV_REG_CPSR), pc = greg(c, HV_REG_PC);
    unsigned el = (unsigned)(cpsr >> CPSR_EL_SHIFT) & 3u;
    unsigned ec = fetch ? (el ? EC_IABT_SAME : EC_IABT_LOWER) : (el ? EC_DABT_SAME : EC_DABT_LOWER);
    uint64_t iss = FSC_SYNC_EXTERNAL | (!fetch && (esr & ESR_WNR) ? DABT_WNR : 0);
    uint64_t off = el == 0 ? VEC_LOWER_A64 : (cpsr & CPSR_SPSEL) ? VEC_CURRENT_SPX : VEC_CURRENT_SP0;
    sreg_set(c, HV_SYS_REG_ESR_EL1, (uint64_t)ec << ESR_EC_SHIFT | 1u << 25 | iss);
    sreg_set(c, HV_SYS_REG_FAR_EL1, c->exit->exception.virtual_address);
    sreg_set(c, HV_SYS_REG_ELR_EL1, pc);
    sreg_set(c, HV_SYS_REG_SPSR_EL1, cpsr);
    hv_vcpu_set_reg(c->vcpu, HV_REG_CPSR, A64M_PSTATE_EL1H_DAIF);
    hv_vcpu_set_reg(c->vcpu, HV_REG_PC, sreg(c, HV_SYS_REG_VBAR_EL1) + off);
}

/* An access to an address with no RAM or device: SEA on the board, else the end. */
static void no_device(struct a64_cpu *c, uint64_t esr, uint64_t ipa, bool write, unsigned size)
{
    if (c->m->board) {
        if (c->m->s.o->trace)
            fprintf(stderr, "[exit] external abort injected for IPA 0x%" PRIx64 "\n", ipa);
        count(c, "sea-injected");
        inject_sea(c, esr, false);
        return;
    }
    fprintf(stderr, "anyhv-run: guest %s of %u bytes at IPA 0x%" PRIx64 " (no RAM or device) at pc 0x%" PRIx64 "\n",
            write ? "write" : "read", size, ipa, greg(c, HV_REG_PC));
    end(c, RUN_GUEST_FAULT);
}

static void mmio(struct a64_cpu *c, uint64_t esr)
{
    struct a64_machine *m = c->m;
    uint64_t ipa = c->exit->exception.physical_address;
    unsigned size = 1u << ((esr >> ESR_SAS_SHIFT) & ESR_SAS_MASK);
    unsigned srt = (esr >> ESR_SRT_SHIFT) & ESR_SRT_MASK;
    bool write = esr & ESR_WNR;
    bool uart = ipa >= A64M_PL011_BASE && ipa < A64M_PL011_BASE + A64M_PL011_SIZE;
    if (!uart && ipa != A64M_DEBUG_EXIT) {
        no_device(c, esr, ipa, write, size);
        return;
    }
    if (!(esr & ESR_ISV)) {
        fprintf(stderr, "anyhv-run: guest access to IPA 0x%" PRIx64 " at pc 0x%" PRIx64
                        " cannot be emulated (no instruction syndrome: pair or vector access)\n",
                ipa, greg(c, HV_REG_PC));
        end(c, RUN_GUEST_FAULT);
        return;
    }
    uint64_t value = write && srt != 31 ? greg(c, (hv_reg_t)(HV_REG_X0 + srt)) : 0;
    if (m->s.o->trace)
        fprintf(stderr, "[exit] mmio %s ipa 0x%" PRIx64 " size %u value 0x%" PRIx64 " pc 0x%" PRIx64 "\n",
                write ? "write" : "read", ipa, size, value, greg(c, HV_REG_PC));
    if (!uart) {
        if (!write) {
            no_device(c, esr, ipa, write, size);
            return;
        }
        skip_insn(c);
        end(c, (int)(value & 0xff));
        return;
    }
    pthread_mutex_lock(&m->lock);
    if (write)
        pl011_write(&m->uart, ipa - A64M_PL011_BASE, (uint32_t)value);
    else
        value = pl011_read(&m->uart, ipa - A64M_PL011_BASE);
    uart_update(m);
    pthread_mutex_unlock(&m->lock);
    if (!write) {
        unsigned bits = 8 * size;
        if ((esr & ESR_SSE) && bits < 64 && (value >> (bits - 1)) & 1)
            value |= ~0ull << bits;
        set_xt(c, srt, (esr & ESR_SF) ? value : (value & 0xffffffffu));
    }
    skip_insn(c);
}

/* PSCI CPU_ON: post the entry point to the target's thread. */
static uint64_t cpu_on(struct a64_cpu *c, uint64_t target, uint64_t entry, uint64_t context)
{
    struct a64_machine *m = c->m;
    if (!m->board || target >= m->ncpus)
        return PSCI_INVALID_PARAMETERS;   /* Aff0 = vCPU index; nothing above it */
    struct a64_cpu *t = &m->cpu[target];
    uint64_t ret = PSCI_SUCCESS;
    pthread_mutex_lock(&m->lock);
    if (t->power == CPU_ON || t->on_request) {
        ret = PSCI_ALREADY_ON;
    } else {
        t->on_entry = entry;
        t->on_context = context;
        t->on_request = true;
        pthread_cond_broadcast(&m->power_changed);
    }
    pthread_mutex_unlock(&m->lock);
    return ret;
}

static uint64_t affinity_info(struct a64_cpu *c, uint64_t target)
{
    if (target >= c->m->ncpus)
        return PSCI_INVALID_PARAMETERS;
    pthread_mutex_lock(&c->m->lock);
    bool on = c->m->cpu[target].power == CPU_ON || c->m->cpu[target].on_request;
    pthread_mutex_unlock(&c->m->lock);
    return on ? 0 : 1;   /* ON, OFF */
}

static bool psci_known(uint32_t fn)
{
    static const uint32_t known[] = { PSCI_VERSION, PSCI_CPU_SUSPEND, PSCI_CPU_OFF, PSCI_CPU_ON,
                                      PSCI_AFFINITY_INFO, PSCI_MIGRATE_INFO_TYPE, PSCI_SYSTEM_OFF,
                                      PSCI_SYSTEM_RESET, PSCI_FEATURES };
    for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (fn == known[i] || fn == (known[i] | PSCI_SMC64))
            return true;
    return false;
}

/* PSCI 1.0 over HVC or SMC (DEN0022): the calls Linux makes, SMC32 and SMC64 forms. */
static void psci_call(struct a64_cpu *c)
{
    uint32_t fn = (uint32_t)greg(c, HV_REG_X0);
    uint64_t a1 = greg(c, HV_REG_X1), a2 = greg(c, HV_REG_X2), a3 = greg(c, HV_REG_X3), ret = PSCI_NOT_SUPPORTED;
    switch (fn & ~PSCI_SMC64) {
    case PSCI_VERSION: ret = PSCI_VERSION_1_0; break;
    case PSCI_SYSTEM_OFF:
    case PSCI_SYSTEM_RESET: end(c, RUN_OK); return;
    case PSCI_CPU_ON: ret = cpu_on(c, a1 & 0xffu, a2, a3); break;
    case PSCI_AFFINITY_INFO: ret = affinity_info(c, a1 & 0xffu); break;
    case PSCI_MIGRATE_INFO_TYPE: ret = PSCI_TOS_NOT_PRESENT; break;
    case PSCI_CPU_SUSPEND: ret = PSCI_SUCCESS; break;   /* a wake-up at once is allowed */
    case PSCI_FEATURES: ret = psci_known((uint32_t)a1) ? PSCI_SUCCESS : PSCI_NOT_SUPPORTED; break;
    case PSCI_CPU_OFF:
        pthread_mutex_lock(&c->m->lock);
        c->power = CPU_OFF;
        pthread_mutex_unlock(&c->m->lock);
        if (!a64_wait_power_on(c))
            return;
        return;   /* restarted at the CPU_ON entry point */
    default: break;
    }
    hv_vcpu_set_reg(c->vcpu, HV_REG_X0, ret);
}

/* EC 0x18: registers Apple's hypervisor hands to the VMM. The EL1 physical timer runs
 * on the VM's counter (CNTPCT, vm_counter) through the framework's CNTP registers; the OS lock is
 * kept; the PMU and everything else trapped read as zero and ignore writes. */
static void sysreg(struct a64_cpu *c, uint64_t esr)
{
    uint32_t iss = (uint32_t)(esr & ESR_ISS_MASK), id = SYS_ID(iss);
    unsigned rt = SYS_RT(iss);
    bool read = iss & SYS_DIR_READ;
    uint64_t v = read ? 0 : (rt == 31 ? 0 : greg(c, (hv_reg_t)(HV_REG_X0 + rt)));
    switch (id) {
    case SR_CNTP_CTL:
        if (read)
            v = sreg(c, HV_SYS_REG_CNTP_CTL_EL0);   /* ISTATUS computed by the framework */
        else
            sreg_set(c, HV_SYS_REG_CNTP_CTL_EL0, v);
        break;
    case SR_CNTP_CVAL:
        if (read)
            v = sreg(c, HV_SYS_REG_CNTP_CVAL_EL0);
        else
            sreg_set(c, HV_SYS_REG_CNTP_CVAL_EL0, v);
        break;
    case SR_CNTP_TVAL:
        /* TVAL = CVAL - CNTPCT, signed 32 bits; a write sets CVAL from it. */
        if (read)
            v = (uint64_t)(int64_t)(int32_t)(uint32_t)(sreg(c, HV_SYS_REG_CNTP_CVAL_EL0) - vm_counter(c));
        else
            sreg_set(c, HV_SYS_REG_CNTP_CVAL_EL0, vm_counter(c) + (uint64_t)(int64_t)(int32_t)v);
        break;
    case SR_OSLAR:
        if (!read)
            c->os_lock = v & 1u;
        break;
    case SR_OSLSR: v = OSLSR_OSLM_IMPLEMENTED | (c->os_lock ? OSLSR_OSLK : 0); break;
    default: v = 0; break;   /* PMU absent, OSDLR, debug comms: RAZ/WI */
    }
    if (c->m->s.o->trace)
        fprintf(stderr, "[exit] sysreg %s 0x%04x value 0x%" PRIx64 "\n", read ? "read" : "write", id, v);
    if (read)
        set_xt(c, rt, v);
    skip_insn(c);
}

/* Board: a WFI returns once an interrupt may be pending for this vCPU: its virtual
 * timer fired, a pending enabled SGI/PPI in its redistributor, or a pending enabled
 * SPI (the UART's). Input on stdin raises the UART's line first. */
static bool interrupt_waiting(struct a64_cpu *c)
{
    uint64_t ctl = sreg(c, HV_SYS_REG_CNTV_CTL_EL0), pend = 0, en = 0;
    if ((ctl & (CNT_CTL_ENABLE | CNT_CTL_IMASK | CNT_CTL_ISTATUS)) == (CNT_CTL_ENABLE | CNT_CTL_ISTATUS))
        return true;
    hv_gic_get_redistributor_reg(c->vcpu, GICR_ISPENDR0, &pend);
    hv_gic_get_redistributor_reg(c->vcpu, GICR_ISENABLER0, &en);
    if (pend & en)
        return true;
    pthread_mutex_lock(&c->m->lock);
    uart_update(c->m);
    pthread_mutex_unlock(&c->m->lock);
    hv_gic_get_distributor_reg(GICD_ISPENDR1, &pend);
    hv_gic_get_distributor_reg(GICD_ISENABLER1, &en);
    return (pend & en) != 0;
}

/* Deterministic mode: guest time moves only with instructions, so the wait lets it
 * pass instead of sleeping (anyhv_vcpu_idle: up to the vCPU's timer, or its turn's
 * rest while others run), and each look at the devices happens with the vCPU's turn
 * held, so every run sees the same interrupts at the same instant. Alone and without
 * a timer only the console can wake it: sleep on the host between looks (each look
 * is a console answer, logged by --record). */
static void wait_for_interrupt_det(struct a64_cpu *c)
{
    const struct timespec poll = { 0, WFI_POLL_NS };
    c->phase = PHASE_WFI;
    anyhv_vcpu_wait_turn(c->vcpu);
    while (!a64_done(c->m) && !interrupt_waiting(c)) {
        uint64_t idle_ns = 0;
        anyhv_vcpu_idle(c->vcpu, 0, &idle_ns);
        if (!idle_ns)
            nanosleep(&poll, NULL);
    }
}

/* Nanoseconds until this vCPU's virtual timer fires (0: it has), at most cap; cap
 * while the timer is off or masked. */
static long ns_until_vtimer(struct a64_cpu *c, long cap)
{
    uint64_t ctl = sreg(c, HV_SYS_REG_CNTV_CTL_EL0), off = 0;
    if ((ctl & (CNT_CTL_ENABLE | CNT_CTL_IMASK)) != CNT_CTL_ENABLE)
        return cap;
    hv_vcpu_get_vtimer_offset(c->vcpu, &off);
    uint64_t now = host_counter() - off, cval = sreg(c, HV_SYS_REG_CNTV_CVAL_EL0);
    uint64_t cap_ticks = (uint64_t)cap * A64M_CNTFRQ / 1000000000u;
    if (cval <= now)
        return 0;
    if (cval - now >= cap_ticks)
        return cap;
    return (long)((cval - now) * 1000000000u / A64M_CNTFRQ) + 1;
}

/* Sleep until an interrupt may be pending. One vCPU on the host clock sleeps until
 * its timer's deadline or console input (what can raise its interrupts); with
 * several, another's SGI (raised inside the library, unseen here) can end the wait
 * at any time, so they look every WFI_POLL_NS. Deterministic mode lets guest time
 * pass instead (wait_for_interrupt_det). */
static void wait_for_interrupt(struct a64_cpu *c)
{
    if (c->m->det) {
        wait_for_interrupt_det(c);
        return;
    }
    bool exact = c->m->ncpus == 1, input = false;
    while (!a64_done(c->m) && !interrupt_waiting(c)) {
        /* Input the guest leaves unread keeps stdin ready: then poll as with SMP. */
        if (!exact || input) {
            const struct timespec poll = { 0, WFI_POLL_NS };
            nanosleep(&poll, NULL);
            input = false;
            continue;
        }
        long ns = ns_until_vtimer(c, WFI_IDLE_MAX_NS);
        if (ns > 0)
            input = console_wait_input(ns);
    }
}

/* An abort on an instruction fetch at the guest's own vector table means the guest
 * took an exception it has no handler for: report what EL1 saw. */
static void report_fault(struct a64_cpu *c, uint64_t esr, unsigned ec)
{
    uint64_t pc = greg(c, HV_REG_PC), vbar = sreg(c, HV_SYS_REG_VBAR_EL1);
    if ((ec == EC_IABT_LOWER || ec == EC_IABT_SAME) && pc >= vbar && pc < vbar + VECTOR_TABLE_SIZE) {
        uint64_t esr1 = sreg(c, HV_SYS_REG_ESR_EL1);
        fprintf(stderr,
                "anyhv-run: guest exception %s (ESR_EL1 0x%" PRIx64 ") at pc 0x%" PRIx64 ", FAR 0x%" PRIx64
                ", with no handler (VBAR_EL1 0x%" PRIx64 ")\n",
                a64m_ec_name((unsigned)(esr1 >> ESR_EC_SHIFT) & ESR_EC_MASK), esr1, sreg(c, HV_SYS_REG_ELR_EL1),
                sreg(c, HV_SYS_REG_FAR_EL1), vbar);
    } else if (c->m->board && (ec == EC_IABT_LOWER || ec == EC_IABT_SAME)) {
        count(c, "sea-injected");
        inject_sea(c, esr, true);   /* a fetch from an address with nothing behind it */
        return;
    } else {
        fprintf(stderr, "anyhv-run: unhandled %s exit (ESR 0x%" PRIx64 ") at pc 0x%" PRIx64 ", address 0x%" PRIx64 "\n",
                a64m_ec_name(ec), esr, pc, c->exit->exception.virtual_address);
    }
    end(c, RUN_GUEST_FAULT);
}

/* A WFE on hardware ends at the latest at the next event of the generic timer's event
 * stream (CNTKCTL_EL1.EVNTEN: when counter bit EVNTI flips, every 2^(EVNTI+1) ticks).
 * Deterministic mode lets that much guest time pass (at most: the turn passes on, and
 * the vCPU's timer ends it too), else a quantum's worth; otherwise other threads run. */
static void wait_for_event(struct a64_cpu *c)
{
    if (!c->m->det) {
        sched_yield();
        return;
    }
    uint64_t kctl = sreg(c, HV_SYS_REG_CNTKCTL_EL1), max_ns = WFE_IDLE_NS;
    if (kctl & CNTKCTL_EVNTEN) {
        unsigned bit = (unsigned)(kctl >> CNTKCTL_EVNTI_SHIFT) & CNTKCTL_EVNTI_MASK;
        max_ns = ((2ull << bit) * 1000000000ull + A64M_CNTFRQ - 1) / A64M_CNTFRQ;
    }
    c->phase = PHASE_WFE;
    anyhv_vcpu_idle(c->vcpu, max_ns, NULL);
}

static void wfx(struct a64_cpu *c)
{
    if (c->m->s.o->trace)
        fprintf(stderr, "[exit] cpu %u %s at pc 0x%" PRIx64 "\n", c->index,
                (c->exit->exception.syndrome & WFX_TI_WFE) ? "wfe" : "wfi", greg(c, HV_REG_PC));
    skip_insn(c);
    if (c->m->board) {
        /* WFE also ends on events (SEV, a released lock's monitor): step on at once,
         * letting other threads run; WFI waits for an interrupt. */
        if (c->exit->exception.syndrome & WFX_TI_WFE)
            wait_for_event(c);
        else
            wait_for_interrupt(c);
        return;
    }
    if (++c->idle_wfx >= WFX_IDLE_LIMIT) {
        fprintf(stderr, "anyhv-run: guest waits for an interrupt this machine never raises (pc 0x%" PRIx64 ")\n",
                greg(c, HV_REG_PC));
        end(c, RUN_GUEST_FAULT);
    }
}

static void exception_exit(struct a64_cpu *c)
{
    uint64_t esr = c->exit->exception.syndrome;
    unsigned ec = (unsigned)(esr >> ESR_EC_SHIFT) & ESR_EC_MASK;
    count(c, a64m_ec_name(ec));
    if (ec != EC_WFX)
        c->idle_wfx = 0;
    switch (ec) {
    case EC_DABT_LOWER:
    case EC_DABT_SAME: mmio(c, esr); return;
    case EC_HVC64:   /* PC is already past the HVC */
        if (c->m->s.o->trace)
            fprintf(stderr, "[exit] hvc #%u x0 0x%" PRIx64 "\n", (unsigned)(esr & ESR_HVC_IMM_MASK), greg(c, HV_REG_X0));
        psci_call(c);
        return;
    case EC_SMC64:   /* PC is on the SMC */
        if (c->m->s.o->trace)
            fprintf(stderr, "[exit] smc x0 0x%" PRIx64 "\n", greg(c, HV_REG_X0));
        skip_insn(c);
        psci_call(c);
        return;
    case EC_SYSREG: sysreg(c, esr); return;
    case EC_WFX: wfx(c); return;
    default: report_fault(c, esr, ec); return;
    }
}

void a64_handle_exit(struct a64_cpu *c)
{
    /* Deterministic mode: a WFI/WFE exit gave the turn away; everything the handler
     * does - counting, tracing, looking at devices, ending the session - waits for it,
     * so the exit stream and the summary come out the same every run (a no-op for the
     * other exits, which keep the turn). */
    if (c->m->det) {
        c->phase = PHASE_EXIT;
        c->last_exit = *c->exit;
        anyhv_vcpu_wait_turn(c->vcpu);
    }
    memhash_exit(&c->m->s.hash, c->index, c->vcpu);
    switch (c->exit->reason) {
    case HV_EXIT_REASON_EXCEPTION: exception_exit(c); break;
    case HV_EXIT_REASON_CANCELED: count(c, "canceled"); break;
    case HV_EXIT_REASON_VTIMER_ACTIVATED:
        /* Without a GIC nothing takes the timer's interrupt: it stays masked. */
        count(c, "vtimer");
        break;
    default:
        count(c, "unknown");
        fprintf(stderr, "anyhv-run: unknown exit reason %u\n", (unsigned)c->exit->reason);
        end(c, RUN_GUEST_FAULT);
        break;
    }
}

void a64_stop_all(struct a64_machine *m, const struct a64_cpu *self)
{
    for (unsigned i = 0; i < m->ncpus; i++) {
        hv_vcpu_t v = m->cpu[i].vcpu;
        if (&m->cpu[i] != self && m->cpu[i].exit)
            hv_vcpus_exit(&v, 1);
    }
}

/* Sets the vCPU up at the CPU_ON entry point: EL1h, DAIF masked, MMU off, x0 = context. */
static void power_on(struct a64_cpu *c)
{
    hv_vcpu_set_reg(c->vcpu, HV_REG_PC, c->on_entry);
    hv_vcpu_set_reg(c->vcpu, HV_REG_X0, c->on_context);
    hv_vcpu_set_reg(c->vcpu, HV_REG_CPSR, A64M_PSTATE_EL1H_DAIF);
    uint64_t sctlr = sreg(c, HV_SYS_REG_SCTLR_EL1);
    sreg_set(c, HV_SYS_REG_SCTLR_EL1, sctlr & ~1ull);   /* M = 0 */
}

/* Deterministic mode: a powered-off vCPU still has its place in the rotation; it
 * looks for CPU_ON at each of its turns and otherwise idles through them, so the
 * others run and the power-on is seen at the same instant every run. */
static void wait_power_on_det(struct a64_cpu *c)
{
    const struct timespec poll = { 0, WFI_POLL_NS };
    struct a64_machine *m = c->m;
    c->phase = PHASE_OFF;
    anyhv_vcpu_wait_turn(c->vcpu);
    for (;;) {
        pthread_mutex_lock(&m->lock);
        bool go = m->s.done || c->on_request;
        pthread_mutex_unlock(&m->lock);
        if (go)
            return;
        uint64_t idle_ns = 0;
        anyhv_vcpu_idle(c->vcpu, 0, &idle_ns);
        if (!idle_ns)
            nanosleep(&poll, NULL);   /* nobody has a timer: only the console wakes anyone */
    }
}

void a64_resume(struct a64_cpu *c)
{
    switch (c->phase) {
    case PHASE_EXIT: {
        /* Handle the exit the snapshot caught pending, from its copy. */
        hv_vcpu_exit_t *live = c->exit;
        c->exit = &c->last_exit;
        a64_handle_exit(c);
        c->exit = live;
        break;
    }
    case PHASE_WFI: wait_for_interrupt(c); break;
    case PHASE_WFE: anyhv_vcpu_wait_turn(c->vcpu); break;   /* the rest of its bounded idle */
    default: break;
    }
}

bool a64_wait_power_on(struct a64_cpu *c)
{
    struct a64_machine *m = c->m;
    if (m->det)
        wait_power_on_det(c);
    pthread_mutex_lock(&m->lock);
    while (!m->s.done && !c->on_request)
        pthread_cond_wait(&m->power_changed, &m->lock);
    bool on = c->on_request && !m->s.done;
    if (on) {
        c->on_request = false;
        c->power = CPU_ON;
    }
    pthread_mutex_unlock(&m->lock);
    if (on)
        power_on(c);
    return on;
}
