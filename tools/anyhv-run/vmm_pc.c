/* anyhv-run PC machine (--kernel): boots Linux on the Intel API with the
 * in-framework interrupt controllers (HV_VM_ACCEL_APIC). One thread per vCPU (a vCPU
 * belongs to its thread); the BSP starts at the kernel's 64-bit entry, the others wait
 * for the INIT / startup IPIs the BSP sends (hv_vcpu_exit_info) and start in real mode
 * at the SIPI vector. Exits are answered here: port I/O (the devices of pc.h and the
 * 8259s through hv_vm_atpic_port_*), IOAPIC MMIO (decoded, to hv_vm_ioapic_*), xAPIC
 * accesses (APIC-access exits, to hv_vcpu_apic_*), CPUID and MSRs (x86_cpu.c). The run
 * ends at ACPI S5 power-off, a reset, or a guest fault. */
#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <anyhv/anyhv.h>

#include "pc.h"
#include "session.h"
#include "x86_cpu.h"

#define EXIT_REASON_MASK 0xffffu
#define IOQ_SIZE_MASK 7u
#define IOQ_IN (1u << 3)
#define IOQ_STRING (1u << 4)
#define IOQ_PORT_SHIFT 16
#define APIC_ACCESS_OFFSET 0xfffu
#define APIC_ACCESS_WRITE (1u << 12)
#define PCI_CONFIG_FIRST 0xcf8u
#define PCI_CONFIG_LAST 0xcffu
#define DEBUG_EXIT_PORT 0xf4u
#define CR0_BOOT 0x80000031ull        /* PE | ET | NE | PG */
#define CR0_REAL 0x30ull              /* ET | NE */
#define CR0_PVH 0x31ull               /* PE | ET | NE */
#define MULTIBOOT_BOOT_MAGIC 0x2badb002u
#define CR4_PAE 0x20ull
#define CR4_VMXE 0x2000ull
#define EFER_LME_LMA 0x500ull
#define AR_CODE64 0xa09bu
#define AR_DATA 0xc093u
#define AR_CODE32 0xc09bu
#define AR_REAL_CODE 0x9bu
#define AR_REAL_DATA 0x93u
#define AR_TSS 0x8bu
#define AR_LDT 0x82u
#define AR_UNUSABLE 0x10000u
#define DET_POLL_NS 1000000ull       /* deterministic mode: console input looked for every 1 ms */
#define DET_IDLE_POLL_INSNS 10000u   /* ... and a poll period with fewer instructions was idle */
#define DET_IDLE_PACE_NS 1000000L    /* an idle poll with live input waits this long on the host */
#define ATPIC_PORTS(p) ((p) == 0x20 || (p) == 0x21 || (p) == 0xa0 || (p) == 0xa1 || (p) == 0x4d0 || (p) == 0x4d1)

enum cpu_state { CPU_WAIT_INIT = 0, CPU_WAIT_SIPI, CPU_RUN };

struct pc_cpu {
    struct pc *pc;
    unsigned index;
    hv_vcpuid_t vcpu;
    pthread_t thread;
    enum cpu_state state;
    uint8_t sipi_vector;
    bool created;
    uint64_t tsc_adjust;             /* IA32_TSC_ADJUST */
    uint64_t insns;                  /* retired instructions at the end (software route) */
};

struct pc {
    const struct run_options *o;
    uint8_t *ram;
    uint64_t ram_size;
    struct pc_devices *dev;
    struct pc_uart *uart;
    struct pc_fwcfg fwcfg;           /* guarded by lock */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct pc_cpu cpu[PC_MAX_CPUS];
    unsigned ncpu;
    _Atomic bool done;
    int status;
    uint64_t exits;
    /* Deterministic mode (--deterministic, --record, --replay): the devices run on the
     * vCPUs' virtual time; CPU 0 delivers the PIT's interrupts and takes console input
     * at instants of its own virtual time, stopped there by its timer deadline. */
    bool det;
    uint64_t poll_due;               /* CPU 0's next console poll, virtual ns */
    uint64_t poll_icount;            /* its instruction count at the last poll */
    bool inputs_log;                 /* --record/--replay: the library's input log is open */
    struct memhash hash;             /* --hash-memory */
};

/* ---- interrupt lines (the Hypervisor API is per process: no machine pointer needed) ---- */

void pc_irq(unsigned irq, bool level)
{
    unsigned gsi = irq == PC_IRQ_PIT ? PC_GSI_PIT : irq;
    if (level) {
        hv_vm_atpic_assert_irq((int)irq);
        hv_vm_ioapic_assert_irq((int)gsi);
    } else {
        hv_vm_atpic_deassert_irq((int)irq);
        hv_vm_ioapic_deassert_irq((int)gsi);
    }
}

void pc_irq_pulse(unsigned irq)
{
    pc_irq(irq, true);
    pc_irq(irq, false);
}

/* ---- helpers ---- */

static uint64_t rreg(hv_vcpuid_t v, hv_x86_reg_t r)
{
    uint64_t x = 0;
    hv_vcpu_read_register(v, r, &x);
    return x;
}

static uint64_t rvmcs(hv_vcpuid_t v, uint32_t f)
{
    uint64_t x = 0;
    hv_vmx_vcpu_read_vmcs(v, f, &x);
    return x;
}

/* End the run for every vCPU (from any of their threads). */
static void finish(struct pc *pc, int status)
{
    pthread_mutex_lock(&pc->lock);
    if (!atomic_load(&pc->done)) {
        pc->status = status;
        atomic_store(&pc->done, true);
        for (unsigned i = 0; i < pc->ncpu; i++)
            if (pc->cpu[i].created)
                hv_vcpu_interrupt(&pc->cpu[i].vcpu, 1);
    }
    pthread_cond_broadcast(&pc->cond);
    pthread_mutex_unlock(&pc->lock);
}

static void fault(struct pc_cpu *c, const char *what)
{
    fprintf(stderr, "anyhv-run: cpu %u: %s at rip 0x%" PRIx64 "\n", c->index, what, rreg(c->vcpu, HV_X86_RIP));
    finish(c->pc, RUN_GUEST_FAULT);
}

/* ---- vCPU state ---- */

static hv_return_t set_ctrl(hv_vcpuid_t v, uint32_t field, hv_vmx_capability_t cap, uint64_t want)
{
    uint64_t c = 0;
    hv_return_t r = hv_vmx_read_capability(cap, &c);
    return r != HV_SUCCESS ? r : hv_vmx_vcpu_write_vmcs(v, field, (want | (c & 0xffffffffu)) & (c >> 32));
}

struct seg { uint32_t sel, base, limit, ar; };

static hv_return_t write_seg(hv_vcpuid_t v, unsigned i, struct seg s)
{
    static const uint32_t f[8][4] = {
        { VMCS_GUEST_ES, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR },
        { VMCS_GUEST_CS, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR },
        { VMCS_GUEST_SS, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR },
        { VMCS_GUEST_DS, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR },
        { VMCS_GUEST_FS, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR },
        { VMCS_GUEST_GS, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR },
        { VMCS_GUEST_LDTR, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_LDTR_AR },
        { VMCS_GUEST_TR, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR },
    };
    hv_return_t r = hv_vmx_vcpu_write_vmcs(v, f[i][0], s.sel);
    r |= hv_vmx_vcpu_write_vmcs(v, f[i][1], s.base);
    r |= hv_vmx_vcpu_write_vmcs(v, f[i][2], s.limit);
    r |= hv_vmx_vcpu_write_vmcs(v, f[i][3], s.ar);
    return r;
}

/* Controls every vCPU shares: I/O and MSR exits, no HLT exiting (the framework idles). */
static hv_return_t setup_controls(hv_vcpuid_t v, bool long_mode)
{
    hv_return_t r = set_ctrl(v, VMCS_CTRL_PIN_BASED, HV_VMX_CAP_PINBASED, 0);
    r |= set_ctrl(v, VMCS_CTRL_CPU_BASED, HV_VMX_CAP_PROCBASED, CPU_BASED_UNCOND_IO);
    r |= set_ctrl(v, VMCS_CTRL_CPU_BASED2, HV_VMX_CAP_PROCBASED2, CPU_BASED2_INVPCID);   /* INVPCID, not #UD */
    r |= set_ctrl(v, VMCS_CTRL_VMENTRY_CONTROLS, HV_VMX_CAP_ENTRY, (long_mode ? VMENTRY_GUEST_IA32E : 0) | VMENTRY_LOAD_EFER);
    r |= set_ctrl(v, VMCS_CTRL_VMEXIT_CONTROLS, HV_VMX_CAP_EXIT, 0);
    r |= hv_vmx_vcpu_write_vmcs(v, VMCS_CTRL_EXC_BITMAP, 0);
    /* VMX keeps CR4.VMXE set; the guest sees (and writes) CR4 without it. */
    r |= hv_vmx_vcpu_write_vmcs(v, VMCS_CTRL_CR4_MASK, CR4_VMXE);
    x86cpu_native_msrs(v);
    return r;
}

/* PVH and Multiboot: 32-bit protected mode, paging off, flat segments; PVH has
 * EBX = start info, Multiboot EAX = its magic and EBX = the information structure. */
static hv_return_t setup_bsp_32(hv_vcpuid_t v, uint64_t entry, enum pc_boot_kind kind)
{
    hv_return_t r = setup_controls(v, false);
    const struct seg code = { PC_SEL_CODE, 0, 0xffffffffu, AR_CODE32 }, data = { PC_SEL_DATA, 0, 0xffffffffu, AR_DATA };
    for (unsigned i = 0; i < 6; i++)
        r |= write_seg(v, i, i == 1 ? code : data);
    r |= write_seg(v, 6, (struct seg){ 0, 0, 0, AR_UNUSABLE });
    r |= write_seg(v, 7, (struct seg){ 0, 0, 0x67, AR_TSS });
    const struct { uint32_t f; uint64_t v; } st[] = {
        { VMCS_GUEST_CR0, CR0_PVH }, { VMCS_CTRL_CR0_SHADOW, CR0_PVH },
        { VMCS_GUEST_CR4, CR4_VMXE }, { VMCS_CTRL_CR4_SHADOW, 0 },
        { VMCS_GUEST_CR3, 0 }, { VMCS_GUEST_IA32_EFER, 0 },
        { VMCS_GUEST_GDTR_BASE, PC_GDT }, { VMCS_GUEST_GDTR_LIMIT, 31 },
        { VMCS_GUEST_IDTR_BASE, 0 }, { VMCS_GUEST_IDTR_LIMIT, 0 },
        { VMCS_GUEST_RFLAGS, 2 }, { VMCS_GUEST_RIP, entry }, { VMCS_GUEST_RSP, 0 },
    };
    for (unsigned i = 0; i < sizeof(st) / sizeof(st[0]); i++)
        r |= hv_vmx_vcpu_write_vmcs(v, st[i].f, st[i].v);
    if (kind == PC_BOOT_MULTIBOOT) {
        r |= hv_vcpu_write_register(v, HV_X86_RAX, MULTIBOOT_BOOT_MAGIC);
        r |= hv_vcpu_write_register(v, HV_X86_RBX, PC_MULTIBOOT_INFO);
    } else {
        r |= hv_vcpu_write_register(v, HV_X86_RBX, PC_PVH_START_INFO);
    }
    return r;
}

static hv_return_t setup_bsp(hv_vcpuid_t v, uint64_t entry)
{
    hv_return_t r = setup_controls(v, true);
    const struct seg code = { PC_SEL_CODE, 0, 0xffffffffu, AR_CODE64 }, data = { PC_SEL_DATA, 0, 0xffffffffu, AR_DATA };
    for (unsigned i = 0; i < 6; i++)
        r |= write_seg(v, i, i == 1 ? code : data);
    r |= write_seg(v, 6, (struct seg){ 0, 0, 0, AR_UNUSABLE });
    r |= write_seg(v, 7, (struct seg){ 0, 0, 0x67, AR_TSS });
    const struct { uint32_t f; uint64_t v; } st[] = {
        { VMCS_GUEST_CR0, CR0_BOOT }, { VMCS_CTRL_CR0_SHADOW, CR0_BOOT },
        { VMCS_GUEST_CR4, CR4_PAE | CR4_VMXE }, { VMCS_CTRL_CR4_SHADOW, CR4_PAE },
        { VMCS_GUEST_CR3, PC_PML4 }, { VMCS_GUEST_IA32_EFER, EFER_LME_LMA },
        { VMCS_GUEST_GDTR_BASE, PC_GDT }, { VMCS_GUEST_GDTR_LIMIT, 31 },
        { VMCS_GUEST_IDTR_BASE, 0 }, { VMCS_GUEST_IDTR_LIMIT, 0 },
        { VMCS_GUEST_RFLAGS, 2 }, { VMCS_GUEST_RIP, entry }, { VMCS_GUEST_RSP, 0 },
    };
    for (unsigned i = 0; i < sizeof(st) / sizeof(st[0]); i++)
        r |= hv_vmx_vcpu_write_vmcs(v, st[i].f, st[i].v);
    r |= hv_vcpu_write_register(v, HV_X86_RSI, PC_ZERO_PAGE);
    return r;
}

/* An AP after INIT and SIPI: real mode at vector << 12. */
static hv_return_t setup_ap(hv_vcpuid_t v, uint8_t vector)
{
    hv_return_t r = setup_controls(v, false);
    r |= write_seg(v, 1, (struct seg){ (uint32_t)vector << 8, (uint32_t)vector << 12, 0xffff, AR_REAL_CODE });
    for (unsigned i = 0; i < 6; i++)
        if (i != 1)
            r |= write_seg(v, i, (struct seg){ 0, 0, 0xffff, AR_REAL_DATA });
    r |= write_seg(v, 6, (struct seg){ 0, 0, 0xffff, AR_LDT });
    r |= write_seg(v, 7, (struct seg){ 0, 0, 0xffff, AR_TSS });
    const struct { uint32_t f; uint64_t v; } st[] = {
        { VMCS_GUEST_CR0, CR0_REAL }, { VMCS_CTRL_CR0_SHADOW, CR0_REAL },
        { VMCS_GUEST_CR4, CR4_VMXE }, { VMCS_CTRL_CR4_SHADOW, 0 },
        { VMCS_GUEST_CR3, 0 }, { VMCS_GUEST_IA32_EFER, 0 },
        { VMCS_GUEST_GDTR_BASE, 0 }, { VMCS_GUEST_GDTR_LIMIT, 0xffff },
        { VMCS_GUEST_IDTR_BASE, 0 }, { VMCS_GUEST_IDTR_LIMIT, 0xffff },
        { VMCS_GUEST_RFLAGS, 2 }, { VMCS_GUEST_RIP, 0 }, { VMCS_GUEST_RSP, 0 },
    };
    for (unsigned i = 0; i < sizeof(st) / sizeof(st[0]); i++)
        r |= hv_vmx_vcpu_write_vmcs(v, st[i].f, st[i].v);
    return r;
}

/* ---- exits ---- */

/* The devices' clock for an access by c: host time, or c's virtual time. */
static uint64_t device_now(struct pc_cpu *c)
{
    uint64_t t = 0;
    if (!c->pc->det)
        return pc_host_now_ns();
    hv_vcpu_get_exec_time(c->vcpu, &t);
    return t;
}

static uint32_t port_in(struct pc_cpu *c, uint16_t port, unsigned size)
{
    struct pc *pc = c->pc;
    uint32_t v = 0;
    if (port >= PC_UART_BASE && port < PC_UART_BASE + PC_UART_PORTS)
        return pc_uart_read(pc->uart, port - PC_UART_BASE);
    if (ATPIC_PORTS(port)) {
        uint8_t b = 0xff;
        hv_vm_atpic_port_read(port, &b);
        return b;
    }
    if (pc_devices_in(pc->dev, port, size, device_now(c), &v))
        return v;
    pthread_mutex_lock(&pc->lock);
    bool fw = pc_fwcfg_in(&pc->fwcfg, port, &v);
    pthread_mutex_unlock(&pc->lock);
    if (fw)
        return v;
    return size == 4 ? 0xffffffffu : size == 2 ? 0xffffu : 0xffu;   /* nothing there (PCI included) */
}

static void port_out(struct pc_cpu *c, uint16_t port, unsigned size, uint32_t v)
{
    struct pc *pc = c->pc;
    bool off = false;
    if (port >= PC_UART_BASE && port < PC_UART_BASE + PC_UART_PORTS)
        pc_uart_write(pc->uart, port - PC_UART_BASE, (uint8_t)v);
    else if (ATPIC_PORTS(port))
        hv_vm_atpic_port_write(port, (uint8_t)v);
    else if (port == DEBUG_EXIT_PORT && pc->o->debug_exit)
        finish(pc, (int)(((v & 0xff) << 1) | 1));
    else if (port == PC_FWCFG_SELECTOR || port == PC_FWCFG_DATA) {
        pthread_mutex_lock(&pc->lock);
        pc_fwcfg_out(&pc->fwcfg, port, v);
        pthread_mutex_unlock(&pc->lock);
    } else
        pc_devices_out(pc->dev, port, size, device_now(c), v, &off);
    if (off && pc_devices_reset_requested(pc->dev)) {
        fprintf(stderr, "anyhv-run: the guest reset the machine\n");
        finish(pc, RUN_GUEST_FAULT);
    } else if (off) {
        finish(pc, RUN_OK);   /* ACPI S5 */
    }
}

static void io_exit(struct pc_cpu *c)
{
    hv_vcpuid_t v = c->vcpu;
    uint64_t q = rvmcs(v, VMCS_RO_EXIT_QUALIFIC);
    unsigned size = (unsigned)(q & IOQ_SIZE_MASK) + 1;
    uint16_t port = (uint16_t)(q >> IOQ_PORT_SHIFT);
    if (q & IOQ_STRING) {
        fault(c, "string port I/O (not emulated by this VMM)");
        return;
    }
    uint64_t rax = rreg(v, HV_X86_RAX);
    if (q & IOQ_IN) {
        uint64_t x = port_in(c, port, size);
        rax = size == 4 ? x : (rax & ~((1ull << (8 * size)) - 1)) | x;
        hv_vcpu_write_register(v, HV_X86_RAX, rax);
    } else {
        port_out(c, port, size, (uint32_t)(rax & (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1)));
    }
    x86cpu_skip(v);
}

/* Start the APs an INIT / startup IPI named. */
static void ipi_exit(struct pc_cpu *c, hv_vm_exitinfo_t info)
{
    struct pc *pc = c->pc;
    bool targets[PC_MAX_CPUS] = { 0 };
    uint64_t rip = 0;
    if (info == HV_VM_EXITINFO_INIT_AP)
        hv_vcpu_exit_init_ap(c->vcpu, targets, PC_MAX_CPUS);
    else
        hv_vcpu_exit_startup_ap(c->vcpu, targets, PC_MAX_CPUS, &rip);
    pthread_mutex_lock(&pc->lock);
    for (unsigned i = 1; i < pc->ncpu; i++) {
        struct pc_cpu *t = &pc->cpu[i];
        if (!targets[i])
            continue;
        if (info == HV_VM_EXITINFO_INIT_AP && t->state == CPU_WAIT_INIT)
            t->state = CPU_WAIT_SIPI;
        else if (info == HV_VM_EXITINFO_STARTUP_AP && t->state == CPU_WAIT_SIPI) {
            t->sipi_vector = (uint8_t)(rip >> 12);
            t->state = CPU_RUN;
        }
    }
    pthread_cond_broadcast(&pc->cond);
    pthread_mutex_unlock(&pc->lock);
}

static void mmio_exit(struct pc_cpu *c, bool apic, uint64_t gpa_or_offset, bool write)
{
    struct x86_mmio_insn in;
    if (!x86_mmio_decode(c->vcpu, c->pc->ram, c->pc->ram_size, &in) || in.write != write ||
        (in.size != 4 && !(apic && !write))) {
        fault(c, apic ? "APIC access this VMM cannot decode" : "IOAPIC access this VMM cannot decode");
        return;
    }
    hv_vm_exitinfo_t info = HV_VM_EXITINFO_VMX;
    if (apic && write) {
        bool quiet = true;
        hv_vcpu_apic_write(c->vcpu, (uint32_t)gpa_or_offset & ~0xfu, (uint32_t)x86_mmio_store_value(c->vcpu, &in),
                           &quiet);
        if (!quiet)
            hv_vcpu_exit_info(c->vcpu, &info);
    } else if (apic) {
        uint32_t value = 0;
        if (hv_vcpu_exit_apic_access_read(c->vcpu, &value) != HV_SUCCESS)
            hv_vcpu_apic_read(c->vcpu, (uint32_t)gpa_or_offset & ~0xfu, &value);
        x86_mmio_complete_load(c->vcpu, &in, value);
    } else if (write) {
        hv_vm_ioapic_write(gpa_or_offset, (uint32_t)x86_mmio_store_value(c->vcpu, &in));
    } else {
        uint32_t value = 0;
        hv_vm_ioapic_read(gpa_or_offset, &value);
        x86_mmio_complete_load(c->vcpu, &in, value);
    }
    hv_vcpu_write_register(c->vcpu, HV_X86_RIP, rreg(c->vcpu, HV_X86_RIP) + in.len);
    if (info == HV_VM_EXITINFO_INIT_AP || info == HV_VM_EXITINFO_STARTUP_AP)
        ipi_exit(c, info);
}

static void msr_exit(struct pc_cpu *c, bool write)
{
    hv_vm_exitinfo_t info = HV_VM_EXITINFO_VMX;
    hv_vcpu_exit_info(c->vcpu, &info);
    if (info == HV_VM_EXITINFO_INIT_AP || info == HV_VM_EXITINFO_STARTUP_AP) {
        ipi_exit(c, info);   /* an x2APIC ICR write: done, RIP already past it */
        return;
    }
    if (rreg(c->vcpu, HV_X86_RCX) == X86CPU_MSR_TSC_ADJUST && write)
        x86cpu_tsc_adjust_write(c->vcpu, &c->tsc_adjust);
    else if (rreg(c->vcpu, HV_X86_RCX) == X86CPU_MSR_TSC_ADJUST)
        x86cpu_tsc_adjust_read(c->vcpu, &c->tsc_adjust);
    else if (write)
        x86cpu_wrmsr(c->vcpu);
    else
        x86cpu_rdmsr(c->vcpu);
}

static void handle_exit(struct pc_cpu *c)
{
    hv_vcpuid_t v = c->vcpu;
    uint32_t reason = (uint32_t)rvmcs(v, VMCS_RO_EXIT_REASON) & EXIT_REASON_MASK;
    if (c->pc->o->trace)
        fprintf(stderr, "[cpu %u] exit %u rip 0x%" PRIx64 "\n", c->index, reason, rreg(v, HV_X86_RIP));
    switch (reason) {
    case VMX_REASON_IO: io_exit(c); return;
    case VMX_REASON_CPUID:
        x86cpu_handle_cpuid(v, c->pc->o->cpuid_host ? X86CPU_CPUID_HOST : X86CPU_CPUID_MODEL, c->index);
        return;
    case VMX_REASON_XSETBV: x86cpu_xsetbv(v); return;
    case VMX_REASON_RDMSR: msr_exit(c, false); return;
    case VMX_REASON_WRMSR: msr_exit(c, true); return;
    case VMX_REASON_APIC_ACCESS: {
        uint64_t q = rvmcs(v, VMCS_RO_EXIT_QUALIFIC);
        mmio_exit(c, true, q & APIC_ACCESS_OFFSET, (q & APIC_ACCESS_WRITE) != 0);
        return;
    }
    case VMX_REASON_EPT_VIOLATION: {
        uint64_t gpa = rvmcs(v, VMCS_GUEST_PHYSICAL_ADDRESS);
        if (gpa - PC_IOAPIC_BASE < PC_MMIO_PAGE) {
            mmio_exit(c, false, gpa, (rvmcs(v, VMCS_RO_EXIT_QUALIFIC) & 2) != 0);
            return;
        }
        fprintf(stderr, "anyhv-run: cpu %u: access to guest-physical 0x%" PRIx64 " outside RAM\n", c->index, gpa);
        fault(c, "unhandled MMIO");
        return;
    }
    case VMX_REASON_IRQ:
    case VMX_REASON_VMX_TIMER_EXPIRED:
    case VMX_REASON_HLT:
    case VMX_REASON_IRQ_WND:
        return;
    case VMX_REASON_TRIPLE_FAULT: fault(c, "triple fault"); return;
    default: {
        char what[64];
        snprintf(what, sizeof(what), "unhandled exit reason %u", reason);
        fault(c, what);
        return;
    }
    }
}

/* Deterministic mode, CPU 0 after each run: the PIT's interrupt when it expired, and
 * console input when a poll is due (each answer logged by --record); the next run stops
 * at the earlier of the two. A poll period the vCPU spent idle waits for live input
 * on the host a while (a replay, or input at its end, does not wait), so a guest that
 * waits for typing does not race through virtual time. */
static void det_devices(struct pc_cpu *c)
{
    struct pc *pc = c->pc;
    uint64_t now = device_now(c);
    if (pc_devices_pit_fire(pc->dev, now))
        pc_irq_pulse(PC_IRQ_PIT);
    if (now >= pc->poll_due) {
        uint64_t n = 0;
        anyhv_vcpu_get_instructions(c->vcpu, &n);
        if (n - pc->poll_icount < DET_IDLE_POLL_INSNS && console_input_live())
            console_wait_input(DET_IDLE_PACE_NS);
        pc_uart_poll(pc->uart);
        pc->poll_icount = n;
        pc->poll_due = now + DET_POLL_NS;
    }
    uint64_t due = pc_devices_pit_due(pc->dev);
    anyhv_vcpu_set_timer_deadline(c->vcpu, due < pc->poll_due ? due : pc->poll_due);
}

static void run_loop(struct pc_cpu *c)
{
    bool ticks = c->pc->det && c->index == 0;
    while (!atomic_load(&c->pc->done)) {
        if (ticks)
            det_devices(c);
        hv_return_t r = hv_vcpu_run_until(c->vcpu, HV_DEADLINE_FOREVER);
        if (r != HV_SUCCESS) {
            fprintf(stderr, "anyhv-run: cpu %u: hv_vcpu_run failed (%#x)\n", c->index, (unsigned)r);
            finish(c->pc, RUN_GUEST_FAULT);
            return;
        }
        if (atomic_load(&c->pc->done))
            return;
        c->pc->exits++;
        memhash_exit(&c->pc->hash, c->index, c->vcpu);
        handle_exit(c);
    }
}

/* The end of a vCPU's run: its instruction count for the summary. */
static void note_insns(struct pc_cpu *c)
{
    anyhv_vcpu_get_instructions(c->vcpu, &c->insns);
}

/* Deterministic mode: an AP waiting for INIT/SIPI keeps its place in the rotation; at
 * each of its turns it looks for the startup IPI and otherwise idles through the turn,
 * so the others run and the start is seen at the same instant every run. */
static void ap_wait_det(struct pc_cpu *c)
{
    struct pc *pc = c->pc;
    anyhv_vcpu_wait_turn(c->vcpu);
    for (;;) {
        pthread_mutex_lock(&pc->lock);
        bool go = c->state == CPU_RUN || atomic_load(&pc->done);
        pthread_mutex_unlock(&pc->lock);
        if (go)
            return;
        uint64_t idle_ns = 0;
        anyhv_vcpu_idle(c->vcpu, 0, &idle_ns);
        if (!idle_ns)
            sched_yield();
    }
}

static void *ap_main(void *arg)
{
    struct pc_cpu *c = arg;
    struct pc *pc = c->pc;
    pthread_mutex_lock(&pc->lock);
    c->created = hv_vcpu_create(&c->vcpu, HV_VCPU_DEFAULT) == HV_SUCCESS;
    pthread_cond_broadcast(&pc->cond);
    while (c->created && !pc->det && c->state != CPU_RUN && !atomic_load(&pc->done))
        pthread_cond_wait(&pc->cond, &pc->lock);
    pthread_mutex_unlock(&pc->lock);
    if (c->created && pc->det)
        ap_wait_det(c);
    if (c->created && !atomic_load(&pc->done)) {
        if (setup_ap(c->vcpu, c->sipi_vector) != HV_SUCCESS)
            finish(pc, RUN_UNAVAILABLE);
        else
            run_loop(c);
    }
    if (c->created)
        note_insns(c);
    pthread_mutex_lock(&pc->lock);
    if (c->created)
        hv_vcpu_destroy(c->vcpu);
    c->created = false;
    pthread_mutex_unlock(&pc->lock);
    return NULL;
}

/* Create the APs' threads in order, so vCPU i is CPU i (APIC id i). */
static bool start_aps(struct pc *pc)
{
    for (unsigned i = 1; i < pc->ncpu; i++) {
        struct pc_cpu *c = &pc->cpu[i];
        pthread_mutex_lock(&pc->lock);
        bool ok = pthread_create(&c->thread, NULL, ap_main, c) == 0;
        while (ok && !c->created)
            pthread_cond_wait(&pc->cond, &pc->lock);
        pthread_mutex_unlock(&pc->lock);
        if (!ok || c->vcpu != i)
            return false;
    }
    return true;
}

static void destroy_bsp(struct pc *pc)
{
    pthread_mutex_lock(&pc->lock);
    hv_vcpu_destroy(pc->cpu[0].vcpu);
    pc->cpu[0].created = false;
    pthread_mutex_unlock(&pc->lock);
}

static int boot(struct pc *pc, uint64_t entry, enum pc_boot_kind kind)
{
    struct pc_cpu *bsp = &pc->cpu[0];
    if (hv_vcpu_create(&bsp->vcpu, HV_VCPU_DEFAULT) != HV_SUCCESS || bsp->vcpu != 0)
        return RUN_UNAVAILABLE;
    bsp->created = true;
    bsp->state = CPU_RUN;
    int status = RUN_OK;
    if (!start_aps(pc) || (kind == PC_BOOT_LINUX64 ? setup_bsp(bsp->vcpu, entry) : setup_bsp_32(bsp->vcpu, entry, kind)) != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: cannot create or set up the vCPUs\n");
        finish(pc, RUN_UNAVAILABLE);
    } else if ((status = session_inputs_log_start(pc->o, &pc->inputs_log)) != RUN_OK) {
        finish(pc, status);   /* the log starts once every vCPU (and its local APIC) exists */
    } else {
        run_loop(bsp);
    }
    note_insns(bsp);
    finish(pc, pc->status);
    /* Deterministic mode: the BSP may hold the turn the APs wait for; its destruction
     * passes it on, so they see the end. */
    if (pc->det)
        destroy_bsp(pc);
    for (unsigned i = 1; i < pc->ncpu; i++)
        pthread_join(pc->cpu[i].thread, NULL);
    memhash_end(&pc->hash);
    status = pc->status;
    if (!pc->det)
        destroy_bsp(pc);
    return status;
}

/* The console's clock for the --record log: CPU 0's instructions (only its thread
 * takes input, in deterministic mode). */
static uint64_t cpu0_instructions(void *ctx)
{
    uint64_t n = 0;
    anyhv_vcpu_get_instructions(((struct pc *)ctx)->cpu[0].vcpu, &n);
    return n;
}

/* The VM exists: the devices (threads only outside deterministic mode), the library's
 * input log, the run, and the record's end. */
static int run_machine(struct pc *pc, uint64_t entry, enum pc_boot_kind kind)
{
    if (hv_vm_map(pc->ram, 0, pc->ram_size, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) != HV_SUCCESS ||
        !(pc->dev = pc_devices_create(pc->det)) || !(pc->uart = pc_uart_create(!pc->det)))
        return RUN_UNAVAILABLE;
    int status = boot(pc, entry, kind);
    console_flush();
    return session_record_end(pc->o, pc->inputs_log, status);
}

static void print_summary(const struct pc *pc, const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
    uint64_t insns = 0;
    char per_cpu[PC_MAX_CPUS * 24] = "";
    size_t at = 0;
    for (unsigned i = 0; i < pc->ncpu; i++) {
        insns += pc->cpu[i].insns;
        at += (size_t)snprintf(per_cpu + at, sizeof(per_cpu) - at, "%s%" PRIu64, i ? " " : "", pc->cpu[i].insns);
    }
    fprintf(stderr, "anyhv-run: %s backend, %u cpu(s), %" PRIu64 " exits to the VMM, %" PRIu64
                    " guest instructions (per cpu: %s), %.2f s\n",
            anyhv_backend_name(), pc->ncpu, pc->exits, insns, per_cpu, secs);
}

int pc_run(const struct run_options *o)
{
    struct pc pc = { .o = o, .ncpu = o->smp ? o->smp : 1 };
    pthread_mutex_init(&pc.lock, NULL);
    pthread_cond_init(&pc.cond, NULL);
    pc.ram_size = o->mem_bytes > PC_MAX_RAM ? PC_MAX_RAM : o->mem_bytes;
    pc.fwcfg = (struct pc_fwcfg){ .ram_size = pc.ram_size, .cpus = (uint16_t)pc.ncpu,
                                  .cmdline = o->append ? o->append : "" };
    if (pc.ncpu > PC_MAX_CPUS) {
        fprintf(stderr, "anyhv-run: --smp at most %u\n", PC_MAX_CPUS);
        return RUN_USAGE;
    }
    for (unsigned i = 0; i < pc.ncpu; i++)
        pc.cpu[i] = (struct pc_cpu){ .pc = &pc, .index = i };
    if (o->snapshot_file || o->restore_file || o->gdb_port || o->max_insns || o->max_exits) {
        fprintf(stderr, "anyhv-run: --snapshot-at, --restore, --gdb, --max-insns and --max-exits are not"
                        " available on the PC machine (--kernel) yet\n");
        return RUN_USAGE;
    }
    /* A backend this machine lacks is said as on the other machines (a test skips on it). */
    int chosen = o->backend ? session_select_backend(o->backend) : RUN_OK;
    if (chosen == RUN_OK)
        chosen = session_select_deterministic(o->deterministic);
    if (chosen == RUN_OK && o->replay_file)
        chosen = console_log_load(o->replay_file);
    if (chosen != RUN_OK)
        return chosen;
    pc.det = o->deterministic;
    console_set_clock(cpu0_instructions, &pc);
    pc.ram = mmap(NULL, pc.ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pc.ram == MAP_FAILED) {
        fprintf(stderr, "anyhv-run: out of memory: cannot allocate %" PRIu64 " MiB of guest RAM\n",
                (uint64_t)pc.ram_size >> 20);
        return RUN_NO_MEMORY;
    }
    memhash_init(&pc.hash, pc.ram, pc.ram_size, o->hash_parts);
    uint64_t entry = 0;
    enum pc_boot_kind kind = PC_BOOT_LINUX64;
    int status = pc_linux_load(o, pc.ram, pc.ram_size, pc_acpi_build(pc.ram, pc.ncpu), &entry, &kind);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (status == RUN_OK) {
        console_init();
        hv_return_t r = hv_vm_create(HV_VM_ACCEL_APIC);
        if (r != HV_SUCCESS)
            status = session_unavailable("hv_vm_create(HV_VM_ACCEL_APIC) failed", r);
        else
            status = run_machine(&pc, entry, kind);
        if (pc.uart)
            pc_uart_destroy(pc.uart);
        if (pc.dev)
            pc_devices_destroy(pc.dev);
        if (r == HV_SUCCESS)
            hv_vm_destroy();
    }
    if (o->stats)
        print_summary(&pc, &t0);
    munmap(pc.ram, pc.ram_size);
    return status;
}
