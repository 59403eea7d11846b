/* anyhv-run, Intel flavour: a machine with RAM at 0, the guest started directly in
 * 64-bit mode at CPL0 (as a 64-bit kernel entry), an 8250 UART at port 0x3f8, a
 * debug-exit port, and CPU exceptions reported through IDT stubs. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <anyhv/anyhv.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "x86_machine.h"

struct vmm {
    const struct run_options *o;
    uint8_t *ram;
    uint64_t ram_size;
    hv_vcpuid_t vcpu;
    struct run_stats stats;
    struct uart8250 uart;
    bool done;
    int status;
};

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
        m->done = true;
        m->status = (int)(value & 0xff);
    } else if (port == X86M_FAULT_PORT) {
        report_fault(m, value & 0xff);
    }
}

static bool guest_ptr(struct vmm *m, uint64_t gpa, uint64_t len, uint8_t **p)
{
    if (gpa >= m->ram_size || len > m->ram_size - gpa)
        return false;
    *p = m->ram + gpa;
    return true;
}

static void report_fault(struct vmm *m, unsigned vector)
{
    /* The stub runs on the IST1 stack: [error code,] RIP, CS, RFLAGS, RSP, SS. */
    uint64_t rsp = rreg(m, HV_X86_RSP), frame[6] = { 0 };
    bool has_error = x86m_vector_has_error_code(vector);
    uint8_t *p;
    if (guest_ptr(m, rsp, sizeof(frame), &p))
        memcpy(frame, p, sizeof(frame));
    uint64_t rip = frame[has_error ? 1 : 0];
    fprintf(stderr, "anyhv-run: guest exception %s (vector %u)", x86m_vector_name(vector), vector);
    if (has_error)
        fprintf(stderr, ", error code 0x%" PRIx64, frame[0]);
    fprintf(stderr, " at rip 0x%" PRIx64, rip);
    if (vector == X86M_VECTOR_PF)
        fprintf(stderr, ", address 0x%" PRIx64, rreg(m, HV_X86_CR2));
    fprintf(stderr, "\n");
    m->done = true;
    m->status = RUN_GUEST_FAULT;
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
            m->done = true;
            m->status = RUN_GUEST_FAULT;
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

static void io_exit(struct vmm *m)
{
    uint64_t q = rvmcs(m, VMCS_RO_EXIT_QUALIFIC);
    unsigned size = (unsigned)(q & X86M_IOQ_SIZE_MASK) + 1;
    bool in = q & X86M_IOQ_IN, string = q & X86M_IOQ_STRING, rep = q & X86M_IOQ_REP;
    uint16_t port = (uint16_t)(q >> X86M_IOQ_PORT_SHIFT);
    uint64_t rax = rreg(m, HV_X86_RAX);
    if (m->o->trace)
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
    hv_vcpu_write_register(m->vcpu, HV_X86_RIP, rreg(m, HV_X86_RIP) + rvmcs(m, VMCS_RO_VMEXIT_INSTR_LEN));
}

static void handle_exit(struct vmm *m)
{
    uint32_t reason = (uint32_t)rvmcs(m, VMCS_RO_EXIT_REASON) & X86M_EXIT_REASON_MASK;
    stats_count(&m->stats, x86m_exit_name(reason));
    switch (reason) {
    case VMX_REASON_IO:
        io_exit(m);
        return;
    case VMX_REASON_IRQ:
    case VMX_REASON_IRQ_WND:
        return;   /* hv_vcpu_interrupt or a window: nothing to do, run again */
    case VMX_REASON_HLT:
        /* Nothing here raises interrupts: a halted guest has stopped for good. */
        fprintf(stderr, "anyhv-run: guest halted at rip 0x%" PRIx64 "\n", rreg(m, HV_X86_RIP));
        m->done = true;
        m->status = RUN_OK;
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
    m->done = true;
    m->status = RUN_GUEST_FAULT;
}

static int run_loop(struct vmm *m)
{
    while (!m->done) {
        hv_return_t r = hv_vcpu_run(m->vcpu);
        if (r != HV_SUCCESS) {
            fprintf(stderr, "anyhv-run: hv_vcpu_run failed (0x%x)%s\n", (unsigned)r,
                    r == HV_UNSUPPORTED ? ": this backend cannot run guest code yet" : "");
            return r == HV_UNSUPPORTED ? RUN_UNAVAILABLE : RUN_GUEST_FAULT;
        }
        handle_exit(m);
        if (!m->done && m->o->max_exits && m->stats.total >= m->o->max_exits) {
            fprintf(stderr, "anyhv-run: stopped after %" PRIu64 " exits (--max-exits)\n", m->stats.total);
            return RUN_GUEST_FAULT;
        }
    }
    return m->status;
}

int vmm_run(const struct run_options *o)
{
    struct vmm m = { .o = o, .ram_size = o->mem_bytes };
    uint64_t entry = 0;
    int status = run_select_backend(o->backend);
    if (status != RUN_OK)
        return status;
    if (m.ram_size < X86M_MIN_RAM) {
        fprintf(stderr, "anyhv-run: x86_64 guests need at least %u MiB of RAM\n", (unsigned)(X86M_MIN_RAM >> 20));
        return RUN_USAGE;
    }
    if (hv_vm_allocate((void **)&m.ram, m.ram_size, HV_ALLOCATE_DEFAULT) != HV_SUCCESS) {
        fprintf(stderr, "anyhv-run: cannot allocate %" PRIu64 " MiB of guest RAM\n", m.ram_size >> 20);
        return RUN_UNAVAILABLE;
    }
    struct run_options lo = *o;
    if (!lo.load_addr_set)
        lo.load_addr = X86M_DEFAULT_LOAD;
    status = image_load(&lo, RUN_ARCH_X86_64, m.ram, 0, m.ram_size, X86M_RESERVED_END, &entry);
    if (status == RUN_OK) {
        x86m_build_tables(m.ram);
        uart8250_init(&m.uart);
        hv_return_t r = hv_vm_create(HV_VM_DEFAULT);
        if (r == HV_SUCCESS) {
            if (hv_vm_map(m.ram, 0, m.ram_size, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) == HV_SUCCESS &&
                hv_vcpu_create(&m.vcpu, HV_VCPU_DEFAULT) == HV_SUCCESS) {
                hv_return_t sr = x86m_setup_vcpu(m.vcpu, entry, m.ram_size, X86M_CPL0);
                if (sr != HV_SUCCESS) {
                    fprintf(stderr, "anyhv-run: cannot set up the vCPU on backend %s (0x%x)%s\n", anyhv_backend_name(),
                            (unsigned)sr, sr == HV_UNSUPPORTED ? ": this backend cannot run guest code yet" : "");
                    status = RUN_UNAVAILABLE;
                } else {
                    console_init();
                    stats_start(&m.stats);
                    status = run_loop(&m);
                    console_flush();
                    uint64_t n = 0;
                    long long icount = anyhv_vcpu_get_instructions(m.vcpu, &n) == HV_SUCCESS ? (long long)n : -1;
                    if (!o->quiet)
                        stats_print(&m.stats, anyhv_backend_name(), icount, stderr);
                }
                hv_vcpu_destroy(m.vcpu);
            } else {
                fprintf(stderr, "anyhv-run: cannot map guest RAM or create the vCPU\n");
                status = RUN_UNAVAILABLE;
            }
            hv_vm_destroy();
        } else {
            fprintf(stderr, "anyhv-run: hv_vm_create failed (0x%x) on backend %s\n", (unsigned)r, o->backend);
            status = RUN_UNAVAILABLE;
        }
    }
    hv_vm_deallocate(m.ram, m.ram_size);
    return status;
}
