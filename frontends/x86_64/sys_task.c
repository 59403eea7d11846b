/* sys_task.c - task switches under VMX (SDM vol. 3C 25.4.2, 27.2.1): the soft CPU
 * performs none itself. A far JMP/CALL to a TSS descriptor or a task gate, an
 * interrupt or exception through a task gate in the IDT, and IRET with NT = 1
 * outside IA-32e mode make the checks that precede the exit on hardware (gate
 * privilege and presence; the TSS selector, descriptor type, P, S and limit) and
 * then exit with reason 9: the TSS selector and the source in the qualification,
 * the instruction not retired, and for the IDT the event in the IDT-vectoring
 * information. The client emulates the switch. In IA-32e mode these are #GP. */
#include "frontends/x86_64/x86_sys.h"

#define SEL_TI (1u << 2)
#define SEL_RPL 3u
#define TYPE_TSS16_AVAIL 0x1u
#define TYPE_TSS16_BUSY 0x3u
#define TYPE_TASK_GATE 0x5u
#define TYPE_TSS32_AVAIL 0x9u
#define TYPE_TSS32_BUSY 0xbu
#define TYPE_TSS_32 0x8u
#define TSS32_MIN_LIMIT 0x67u
#define TSS16_MIN_LIMIT 0x2bu
#define TSS_BACKLINK 0u

static int fault(struct x86_fault *f, unsigned vector, uint16_t sel)
{
    *f = (struct x86_fault){ .vector = vector, .err = sel & ~SEL_RPL };
    return -1;
}

static unsigned desc_type(uint64_t lo)
{
    return (unsigned)(lo >> 40) & 0x1f;   /* S (bit 4) included: system descriptors have it clear */
}

/* The new TSS: in the GDT, of the right type (available, or busy for IRET),
 * present, and long enough. type_fault: #GP for CALL/JMP/interrupts, #TS for IRET. */
static int check_tss(struct soft_cpu *cpu, uint16_t sel, bool busy, unsigned type_fault, struct x86_fault *f)
{
    if (sel & SEL_TI)
        return fault(f, type_fault, sel);
    uint64_t d[2];
    if (x86_read_descriptor(cpu, sel, d, 1, f) != 0) {
        f->vector = type_fault;
        return -1;
    }
    unsigned type = desc_type(d[0]);
    bool ok = busy ? (type == TYPE_TSS16_BUSY || type == TYPE_TSS32_BUSY)
                   : (type == TYPE_TSS16_AVAIL || type == TYPE_TSS32_AVAIL);
    if (!ok)
        return fault(f, type_fault, sel);
    if (!((d[0] >> 47) & 1))
        return fault(f, X86_V_NP, sel);
    struct x86_segment s;
    x86_seg_from_descriptor(&s, sel, d[0], 0);
    if (s.limit < ((type & TYPE_TSS_32) ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT))
        return fault(f, X86_V_TS, sel);
    return 0;
}

static _Noreturn void task_exit(struct soft_cpu *cpu, uint16_t sel, enum exit_task_source source, unsigned len)
{
    struct anyhv_exit *e = x86_exit_begin(cpu, EXIT_TASK_SWITCH, len);
    e->u.task.selector = sel;
    e->u.task.source = (uint8_t)source;
    x86_flags_pack(x86_st(cpu));
    soft_unwind(cpu, SOFT_STOP_EXIT);
}

static void check_now(struct soft_cpu *cpu, int r, const struct x86_fault *f)
{
    if (r != 0)
        x86_fault_now(cpu, f);
}

bool x86_is_task_descriptor(uint64_t lo)
{
    unsigned type = desc_type(lo);
    return type == TYPE_TASK_GATE || type == TYPE_TSS16_AVAIL || type == TYPE_TSS16_BUSY ||
           type == TYPE_TSS32_AVAIL || type == TYPE_TSS32_BUSY;
}

void x86_task_far(struct soft_cpu *cpu, uint16_t sel, uint64_t lo, bool call, unsigned len)
{
    const struct x86_state *st = x86_st(cpu);
    struct x86_fault f;
    unsigned dpl = (unsigned)(lo >> 45) & 3, cpl = x86_cpl(st);
    if (st->msr.efer & X86_EFER_LMA)
        x86_raise_now(cpu, X86_V_GP, sel & ~SEL_RPL);
    if (dpl < cpl || dpl < (sel & SEL_RPL))
        x86_raise_now(cpu, X86_V_GP, sel & ~SEL_RPL);
    uint16_t tss = sel;
    if (desc_type(lo) == TYPE_TASK_GATE) {
        if (!((lo >> 47) & 1))
            x86_raise_now(cpu, X86_V_NP, sel & ~SEL_RPL);
        tss = (uint16_t)(lo >> 16);
    }
    check_now(cpu, check_tss(cpu, tss, false, X86_V_GP, &f), &f);
    task_exit(cpu, tss, call ? EXIT_TASK_CALL : EXIT_TASK_JMP, len);
}

void x86_task_iret(struct soft_cpu *cpu, unsigned len)
{
    const struct x86_state *st = x86_st(cpu);
    const struct x86_segment *tr = &st->seg[X86_TR];
    struct x86_fault f;
    uint16_t link = 0;
    if (tr->limit < TSS_BACKLINK + 1)
        x86_raise_now(cpu, X86_V_TS, tr->selector & ~SEL_RPL);
    check_now(cpu, x86_vmem_read(cpu, (tr->base + TSS_BACKLINK) & 0xffffffffull, &link, 2, MMU_READ, &f), &f);
    check_now(cpu, check_tss(cpu, link, true, X86_V_TS, &f), &f);
    task_exit(cpu, link, EXIT_TASK_IRET, len);
}

int x86_task_gate_idt(struct soft_cpu *cpu, uint64_t gate_lo, struct x86_fault *f)
{
    uint16_t tss = (uint16_t)(gate_lo >> 16);
    if (check_tss(cpu, tss, false, X86_V_GP, f) != 0)
        return -1;
    *f = (struct x86_fault){ .task = true, .task_sel = tss };
    return -1;
}
