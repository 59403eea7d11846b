/* anyhv-run, Intel flavour: a machine with RAM at 0, the guest started directly in
 * 64-bit mode at CPL0 (as a 64-bit kernel entry; i386 images in 32-bit protected mode),
 * an 8250 UART at port 0x3f8, a debug-exit port, and CPU exceptions reported through
 * IDT stubs. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <anyhv/anyhv.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "x86_cpu.h"
#include "x86_machine.h"

struct vmm {
    struct run_session s;
    hv_vcpuid_t vcpu;
    struct uart8250 uart;
    enum x86m_mode mode;
};

/* 32-bit guests: the highest stack top below 4 GiB. */
#define STACK32_TOP_MAX 0xfffff000ull

static uint64_t rreg(struct vmm *m, hv_x86_reg_t r)
{
    uint64_t v = 0;
    hv_vcpu_read_register(m->vcpu, r, &v);
    return v;
}

static uint64_t rvmcs(struct vmm *m, uint32_t field)
{
    uint64_t v = 0;
    hv_vmx_vcpu_read_vmcs(m->vcpu, field, &v);
    return v;
}

/* Ports: the UART, the debug exit, the fault port of the IDT stubs; elsewhere reads
 * float high and writes vanish, as on a PC with nothing at that address. */
static uint32_t port_in(struct vmm *m, uint16_t port, unsigned size)
{
    if (port >= X86M_UART_BASE && port < X86M_UART_BASE + X86M_UART_PORTS)
        return uart8250_read(&m->uart, port - X86M_UART_BASE);
    return size == 4 ? 0xffffffffu : size == 2 ? 0xffffu : 0xffu;
}

static void report_fault(struct vmm *m, unsigned vector);

static void port_out(struct vmm *m, uint16_t port, unsigned size, uint32_t value)
{
    (void)size;
    if (port >= X86M_UART_BASE && port < X86M_UART_BASE + X86M_UART_PORTS) {
        uart8250_write(&m->uart, port - X86M_UART_BASE, (uint8_t)value);
    } else if (port == X86M_DEBUG_EXIT_PORT) {
        session_end(&m->s, (int)(value & 0xff));
    } else if (port == X86M_FAULT_PORT) {
        report_fault(m, value & 0xff);
    }
}

static bool guest_ptr(struct vmm *m, uint64_t gpa, uint64_t len, uint8_t **p)
{
    if (gpa >= m->s.ram_size || len > m->s.ram_size - gpa)
        return false;
    *p = m->s.ram + gpa;
    return true;
}

/* Slot i of the frame the exception pushed: in 64-bit mode the stub runs on the IST1
 * stack ([error code,] RIP, CS, RFLAGS, RSP, SS, 8-byte slots); in 32-bit mode on the
 * faulting stack ([error code,] EIP, CS, EFLAGS, 4-byte slots). */
static uint64_t frame_slot(struct vmm *m, unsigned i)
{
    unsigned slot = m->mode == X86M_MODE_LONG64 ? 8 : 4;
    uint64_t v = 0;
    uint8_t *p;
    if (guest_ptr(m, rreg(m, HV_X86_RSP) + (uint64_t)i * slot, slot, &p))
        memcpy(&v, p, slot);
    return v;
}

static void report_fault(struct vmm *m, unsigned vector)
{
    bool has_error = x86m_vector_has_error_code(vector);
    uint64_t error = has_error ? frame_slot(m, 0) : 0, rip = frame_slot(m, has_error ? 1 : 0);
    fprintf(stderr, "anyhv-run: guest exception %s (vector %u)", x86m_vector_name(vector), vector);
    if (has_error)
        fprintf(stderr, ", error code 0x%" PRIx64, error);
    fprintf(stderr, " at rip 0x%" PRIx64, rip);
    if (vector == X86M_VECTOR_PF)
        fprintf(stderr, ", address 0x%" PRIx64, rreg(m, HV_X86_CR2));
    fprintf(stderr, "\n");
    session_end(&m->s, RUN_GUEST_FAULT);
}

/* One I/O exit: the instruction has not retired; emulate it and step over it. */
static bool string_io(struct vmm *m, bool in, uint16_t port, unsigned size, bool rep)
{
    uint64_t count = rep ? rreg(m, HV_X86_RCX) : 1;
    hv_x86_reg_t idx = in ? HV_X86_RDI : HV_X86_RSI;
    uint64_t addr = rreg(m, idx);
    int64_t step = (rreg(m, HV_X86_RFLAGS) & X86M_RFLAGS_DF) ? -(int64_t)size : (int64_t)size;
    for (; count; count--, addr += (uint64_t)step) {
        uint8_t *p;
        if (!guest_ptr(m, addr, size, &p)) {
            fprintf(stderr, "anyhv-run: string I/O at guest address 0x%" PRIx64 " outside RAM\n", addr);
            session_end(&m->s, RUN_GUEST_FAULT);
            return false;
        }
        uint32_t v = 0;
        if (in) {
            v = port_in(m, port, size);
            memcpy(p, &v, size);
        } else {
            memcpy(&v, p, size);
            port_out(m, port, size, v);
        }
    }
    hv_vcpu_write_register(m->vcpu, idx, addr);
    if (rep)
        hv_vcpu_write_register(m->vcpu, HV_X86_RCX, 0);
    return true;
}

static void skip_instruction(struct vmm *m)
{
    hv_vcpu_write_register(m->vcpu, HV_X86_RIP, rreg(m, HV_X86_RIP) + rvmcs(m, VMCS_RO_VMEXIT_INSTR_LEN));
}

static void io_exit(struct vmm *m)
{
    uint64_t q = rvmcs(m, VMCS_RO_EXIT_QUALIFIC);
    unsigned size = (unsigned)(q & X86M_IOQ_SIZE_MASK) + 1;
    bool in = q & X86M_IOQ_IN, string = q & X86M_IOQ_STRING, rep = q & X86M_IOQ_REP;
    uint16_t port = (uint16_t)(q >> X86M_IOQ_PORT_SHIFT);
    uint64_t rax = rreg(m, HV_X86_RAX);
    if (m->s.o->trace)
        fprintf(stderr, "[exit] io %s%s port 0x%x size %u%s rip 0x%" PRIx64 "\n", in ? "in" : "out",
                string ? "s" : "", port, size, rep ? " rep" : "", rreg(m, HV_X86_RIP));
    if (string) {
        if (!string_io(m, in, port, size, rep))
            return;
    } else if (in) {
        uint64_t v = port_in(m, port, size);
        rax = size == 4 ? v : (rax & ~((1ull << (8 * size)) - 1)) | v;   /* 32-bit results zero-extend */
        hv_vcpu_write_register(m->vcpu, HV_X86_RAX, rax);
    } else {
        port_out(m, port, size, (uint32_t)(rax & (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1)));
    }
    skip_instruction(m);
}

/* CPUID: as the PC machine answers it (x86_cpuid_vmm.c: the model, or the host's
 * masked by it, per --cpuid), whichever route runs the guest. */
static void cpuid_exit(struct vmm *m)
{
    x86cpu_handle_cpuid(m->vcpu, m->s.o->cpuid_host ? X86CPU_CPUID_HOST : X86CPU_CPUID_MODEL, 0);
}

static void handle_exit(void *ctx)
{
    struct vmm *m = ctx;
    uint32_t reason = (uint32_t)rvmcs(m, VMCS_RO_EXIT_REASON) & X86M_EXIT_REASON_MASK;
    stats_count(&m->s.stats, x86m_exit_name(reason));
    memhash_exit(&m->s.hash, 0, m->vcpu);
    switch (reason) {
    case VMX_REASON_IO:
        io_exit(m);
        return;
    case VMX_REASON_CPUID:
        cpuid_exit(m);
        return;
    case VMX_REASON_XSETBV:
        x86cpu_xsetbv(m->vcpu);
        return;
    case VMX_REASON_IRQ:
    case VMX_REASON_IRQ_WND:
        return;   /* hv_vcpu_interrupt or a window: nothing to do, run again */
    case VMX_REASON_RDMSR:
        x86cpu_rdmsr(m->vcpu);             /* constants, else #GP as for an absent MSR */
        return;
    case VMX_REASON_WRMSR:
        x86cpu_wrmsr(m->vcpu);
        return;
    case VMX_REASON_HLT:
        /* Nothing here raises interrupts: a halted guest has stopped for good. */
        fprintf(stderr, "anyhv-run: guest halted at rip 0x%" PRIx64 "\n", rreg(m, HV_X86_RIP));
        session_end(&m->s, RUN_OK);
        return;
    case VMX_REASON_EPT_VIOLATION:
        fprintf(stderr, "anyhv-run: guest accessed guest-physical 0x%" PRIx64 " outside RAM (qualification 0x%" PRIx64
                        ") at rip 0x%" PRIx64 "\n",
                rvmcs(m, VMCS_GUEST_PHYSICAL_ADDRESS), rvmcs(m, VMCS_RO_EXIT_QUALIFIC), rreg(m, HV_X86_RIP));
        break;
    case VMX_REASON_TRIPLE_FAULT:
        fprintf(stderr, "anyhv-run: guest triple fault at rip 0x%" PRIx64 "\n", rreg(m, HV_X86_RIP));
        break;
    default:
        fprintf(stderr, "anyhv-run: unhandled exit %s (reason %u) at rip 0x%" PRIx64 "\n", x86m_exit_name(reason),
                reason, rreg(m, HV_X86_RIP));
        break;
    }
    session_end(&m->s, RUN_GUEST_FAULT);
}

static hv_return_t run_vcpu(void *ctx)
{
    return hv_vcpu_run(((struct vmm *)ctx)->vcpu);
}

static int run_vm(struct vmm *m, uint64_t entry)
{
    if (hv_vm_map(m->s.ram, 0, m->s.ram_size, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) != HV_SUCCESS ||
        hv_vcpu_create(&m->vcpu, HV_VCPU_DEFAULT) != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: cannot map guest RAM or create the vCPU\n");
        return RUN_UNAVAILABLE;
    }
    int status;
    uint64_t sp = m->mode == X86M_MODE_LONG64 || m->s.ram_size < STACK32_TOP_MAX ? m->s.ram_size : STACK32_TOP_MAX;
    hv_return_t r = x86m_setup_vcpu(m->vcpu, entry, sp, X86M_CPL0, m->mode);
    x86cpu_native_msrs(m->vcpu);   /* FS/GS bases, EFER, SYSCALL MSRs ... without exits */
    if (r != HV_SUCCESS) {
        status = session_unavailable("cannot set up the vCPU", r);
    } else {
        const struct session_vcpu v = { m, run_vcpu, handle_exit, m->vcpu, &m->uart, sizeof(m->uart) };
        status = session_loop(&m->s, &v);
        memhash_end(&m->s.hash);
    }
    hv_vcpu_destroy(m->vcpu);
    return status;
}

int vmm_run(const struct run_options *o)
{
    enum run_arch arch = o->arch;   /* main() has detected it when not given */
    const struct session_layout layout = { arch == RUN_ARCH_I386 ? RUN_ARCH_I386 : RUN_ARCH_X86_64, 0,
                                           X86M_RESERVED_END, X86M_DEFAULT_LOAD, X86M_MIN_RAM };
    struct vmm m;
    uint64_t entry = 0;
    m.mode = arch == RUN_ARCH_I386 ? X86M_MODE_PROT32 : X86M_MODE_LONG64;
    int status = session_prepare(&m.s, o, &layout, &entry);
    if (status == RUN_OK) {
        x86m_build_tables(m.s.ram, m.mode);
        uart8250_init(&m.uart);
        hv_return_t r = hv_vm_create(HV_VM_DEFAULT);
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
