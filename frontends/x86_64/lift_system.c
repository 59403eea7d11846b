/* lift_system.c - lifters of the system instructions (SDM vol. 2 and vol. 3: far
 * JMP/CALL/RET, IRET, INT n/INT3/INTO/INT1, HLT, IN/OUT/INS/OUTS, CPUID, MOV to and
 * from segment/control/debug registers, descriptor tables, MSRs, SYSCALL family).
 * Each is one call of the system helper (sys_insn.c) and ends the block. */
#include "frontends/x86_64/x86_fe.h"
#include "frontends/x86_64/x86_sys.h"

static const bool sysop_transfers[X86_SYSOP_COUNT] = {
#define X(name, transfer) [X86_SYS_##name] = transfer,
    X86_SYSOP_LIST(X)
#undef X
};

bool x86_sysop_transfers(enum x86_sysop op)
{
    return sysop_transfers[op];
}

ir_val x86_sys_call(struct x86_ctx *c, enum x86_sysop op, unsigned size, unsigned r1, unsigned r2, ir_val b,
                    ir_val cval)
{
    struct ir_block *B = c->b;
    uint64_t code = X86_SYS_CODE(op, c->in->len, size, r1, r2);
    if (b == IR_NONE)
        b = ir_const(B, IR_I64, 0);
    if (cval == IR_NONE)
        cval = ir_const(B, IR_I64, 0);
    ir_val v = x86_call(c, IR_I64, x86_helper[X86_H_SYSTEM], ir_const(B, IR_I64, code), x86_resize(c, b, 8, false),
                        x86_resize(c, cval, 8, false));
    return v;
}

static void finish(struct x86_ctx *c, enum x86_sysop op)
{
    if (sysop_transfers[op]) {
        ir_stop(c->b, IR_STOP_SYSTEM, 0);
        c->end = true;
    } else {
        x86_end_system(c);
    }
}

static bool sys_simple(struct x86_ctx *c, enum x86_sysop op, ir_val b)
{
    x86_sys_call(c, op, c->in->op_size, X86_SYS_NO_REG, X86_SYS_NO_REG, b, IR_NONE);
    finish(c, op);
    return true;
}

static bool cpl0_only(struct x86_ctx *c)
{
    if (c->cpl == 0)
        return true;
    x86_raise(c, X86_V_GP, 0);
    return false;
}

/* Far pointer operand: m16:16/32/64 in memory (offset first) or ptr16:16/32 immediate. */
static void far_pointer(struct x86_ctx *c, ir_val *sel, ir_val *off, unsigned size)
{
    const struct x86_dinsn *in = c->in;
    if (in->nops == 2 && in->o[0].kind == X86_OPND_IMM) {
        *sel = ir_const(c->b, IR_I64, in->o[0].imm & 0xffff);
        *off = ir_const(c->b, IR_I64, in->o[1].imm);
        return;
    }
    ir_val addr = x86_operand_addr(c, &in->o[0]);
    x86_seg_guard(c, addr, size + 2, false);   /* the whole m16:xx */
    *off = x86_resize(c, x86_load(c, addr, size, in->o[0].mem.seg), 8, false);
    ir_val saddr = ir_binop(c->b, IR_ADD, addr, ir_const(c->b, IR_I64, size));
    *sel = x86_resize(c, x86_load(c, saddr, 2, in->o[0].mem.seg), 8, false);
}

static unsigned far_size(const struct x86_ctx *c)
{
    bool o16 = (c->in->prefixes & X86_PFX_OPSIZE) != 0;
    if (c->in->prefixes & X86_PFX_REX_W)
        return 8;
    return (c->code != X86_CODE16) != o16 ? 4 : 2;
}

bool lift_far_jmp_call(struct x86_ctx *c)
{
    unsigned size = far_size(c);
    ir_val sel, off;
    if (c->code == X86_CODE64 && c->in->o[0].kind != X86_OPND_MEM)
        return false;
    far_pointer(c, &sel, &off, size);
    enum x86_sysop op = c->in->op == X86_I_LJMP ? X86_SYS_FAR_JMP : X86_SYS_FAR_CALL;
    x86_sys_call(c, op, size, X86_SYS_NO_REG, X86_SYS_NO_REG, sel, off);
    finish(c, op);
    return true;
}

bool lift_far_ret_iret(struct x86_ctx *c)
{
    unsigned op = c->in->op;
    unsigned size = op == X86_I_IRETQ || op == X86_I_RETFQ ? 8
                    : op == X86_I_IRETD                    ? 4
                    : op == X86_I_IRET                     ? 2
                                                            : far_size(c);
    if (op == X86_I_RETF && c->in->prefixes & X86_PFX_REX_W)
        size = 8;
    enum x86_sysop sop = (op == X86_I_RETF || op == X86_I_RETFQ) ? X86_SYS_FAR_RET : X86_SYS_IRET;
    ir_val imm = ir_const(c->b, IR_I64, c->in->nops == 1 ? c->in->o[0].imm & 0xffff : 0);
    x86_sys_call(c, sop, size, X86_SYS_NO_REG, X86_SYS_NO_REG, imm, IR_NONE);
    finish(c, sop);
    return true;
}

bool lift_int(struct x86_ctx *c)
{
    unsigned op = c->in->op;
    if (op == X86_I_INTO)
        return sys_simple(c, X86_SYS_INTO, IR_NONE);
    unsigned vec = op == X86_I_INT3 ? X86_V_BP : op == X86_I_INT1 ? X86_V_DB : (unsigned)(c->in->o[0].imm & 0xff);
    /* r1 says which flavour: 0 INT n, 1 INT3, 2 INT1 (ICEBP) */
    unsigned kind = op == X86_I_INT3 ? 1 : op == X86_I_INT1 ? 2 : 0;
    x86_sys_call(c, X86_SYS_INT, 0, kind, X86_SYS_NO_REG, ir_const(c->b, IR_I64, vec), IR_NONE);
    finish(c, X86_SYS_INT);
    return true;
}

bool lift_ud(struct x86_ctx *c)
{
    x86_raise(c, X86_V_UD, X86_NO_ERR);
    return true;
}

/* HLT: an exit when HLT exiting is on (the helper unwinds), else the helper moves
 * RIP past it and the block stops to wait for an event. */
bool lift_hlt(struct x86_ctx *c)
{
    if (!cpl0_only(c))
        return true;
    x86_sys_call(c, X86_SYS_HLT, c->in->op_size, X86_SYS_NO_REG, X86_SYS_NO_REG, IR_NONE, IR_NONE);
    ir_stop(c->b, IR_STOP_HALT, 0);
    c->end = true;
    return true;
}

/* IN/OUT exit to the client with the instruction not retired; the client
 * emulates the device and moves RIP on, as with VMX. */
bool lift_in_out(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    bool is_in = in->op == X86_I_IN;
    const struct x86_operand *port_op = is_in ? &in->o[1] : &in->o[0];
    const struct x86_operand *data_op = is_in ? &in->o[0] : &in->o[1];
    unsigned size = data_op->size;
    ir_val port = port_op->kind == X86_OPND_IMM ? ir_const(c->b, IR_I64, port_op->imm & 0xff)
                                                : x86_resize(c, x86_get_gpr(c, X86_RDX, 2), 8, false);
    ir_val data = is_in ? IR_NONE : x86_resize(c, x86_get_gpr(c, X86_RAX, size), 8, false);
    unsigned imm = port_op->kind == X86_OPND_IMM;
    x86_sys_call(c, is_in ? X86_SYS_IN : X86_SYS_OUT, size, imm, X86_SYS_NO_REG, port, data);
    finish(c, is_in ? X86_SYS_IN : X86_SYS_OUT);
    return true;
}

bool lift_ins_outs(struct x86_ctx *c)
{
    unsigned op = c->in->op;
    bool ins = op == X86_I_INSB || op == X86_I_INSW || op == X86_I_INSD;
    unsigned size = (op == X86_I_INSB || op == X86_I_OUTSB) ? 1 : (op == X86_I_INSW || op == X86_I_OUTSW) ? 2 : 4;
    unsigned rep = (c->in->prefixes & (X86_PFX_REP | X86_PFX_REPNE)) != 0;
    ir_val port = x86_resize(c, x86_get_gpr(c, X86_RDX, 2), 8, false);
    enum x86_sysop sop = ins ? X86_SYS_INS : X86_SYS_OUTS;
    x86_sys_call(c, sop, size, rep, c->in->addr_size, port, IR_NONE);
    finish(c, sop);
    return true;
}

bool lift_cpuid(struct x86_ctx *c)
{
    return sys_simple(c, X86_SYS_CPUID, IR_NONE);
}

/* MOV to/from Sreg, CRn, DRn. */
bool lift_mov_sys(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    const struct x86_operand *d = &in->o[0], *s = &in->o[1];
    if (d->kind == X86_OPND_REG && d->reg.cls == X86_RC_SEG) {
        if (d->reg.num == X86_CS)
            return false;
        x86_sys_call(c, X86_SYS_MOV_TO_SEG, 2, d->reg.num, X86_SYS_NO_REG, x86_read_op_sized(c, 1, 2), IR_NONE);
        finish(c, X86_SYS_MOV_TO_SEG);
        return true;
    }
    if (s->kind == X86_OPND_REG && s->reg.cls == X86_RC_SEG) {
        ir_val sel = x86_get_reg(c, s->reg, 2);
        x86_write_op(c, 0, d->kind == X86_OPND_REG ? x86_resize(c, sel, d->size, false) : sel);
        return true;
    }
    if (!cpl0_only(c))
        return true;
    unsigned size = c->code == X86_CODE64 ? 8 : 4;
    if (d->reg.cls == X86_RC_CR || d->reg.cls == X86_RC_DR) {
        enum x86_sysop op = d->reg.cls == X86_RC_CR ? X86_SYS_MOV_TO_CR : X86_SYS_MOV_TO_DR;
        x86_sys_call(c, op, size, d->reg.num, s->reg.num, x86_get_gpr(c, s->reg.num, size), IR_NONE);
        finish(c, op);
        return true;
    }
    enum x86_sysop op = s->reg.cls == X86_RC_CR ? X86_SYS_MOV_FROM_CR : X86_SYS_MOV_FROM_DR;
    ir_val v = x86_sys_call(c, op, size, s->reg.num, d->reg.num, IR_NONE, IR_NONE);
    x86_set_gpr(c, d->reg.num, size, x86_resize(c, v, size, false));
    finish(c, op);
    return true;
}

bool lift_pop_seg(struct x86_ctx *c, unsigned seg, unsigned size)
{
    unsigned ss = x86_stack_size(c);
    ir_val sp = x86_get_gpr(c, X86_RSP, ss);
    ir_val sel = x86_load(c, x86_linear(c, X86_SS, x86_resize(c, sp, 8, false)), 2, X86_SS);
    x86_sys_call(c, X86_SYS_POP_SEG, size, seg, X86_SYS_NO_REG, sel, IR_NONE);
    finish(c, X86_SYS_POP_SEG);
    return true;
}

/* RDRAND/RDSEED r16/32/64: a value from the vCPU's generator (vcpu_random: seeded and
 * reproducible in deterministic mode, the host's entropy otherwise); always ready, so
 * CF = 1 and OF, SF, ZF, AF, PF = 0. With RDRAND/RDSEED exiting the helper exits first. */
bool lift_rdrand(struct x86_ctx *c)
{
    unsigned size = c->in->o[0].size;
    enum x86_sysop op = c->in->op == X86_I_RDSEED ? X86_SYS_RDSEED : X86_SYS_RDRAND;
    ir_val v = x86_sys_call(c, op, size, c->in->o[0].reg.num, X86_SYS_NO_REG, IR_NONE, IR_NONE);
    x86_write_op(c, 0, x86_resize(c, v, size, false));
    ir_val f0 = ir_const(c->b, IR_I1, 0);
    x86_set_flags(c, ir_const(c->b, IR_I1, 1), f0, f0, f0, f0, f0);
    finish(c, op);
    return true;
}

static const struct { uint16_t op; uint8_t sysop; uint8_t priv; } sys_table[] = {
    { X86_I_RDMSR, X86_SYS_RDMSR, 1 },   { X86_I_WRMSR, X86_SYS_WRMSR, 1 },
    { X86_I_RDTSC, X86_SYS_RDTSC, 0 },   { X86_I_RDTSCP, X86_SYS_RDTSCP, 0 },
    { X86_I_RDPMC, X86_SYS_RDPMC, 0 },
    { X86_I_CLI, X86_SYS_CLI, 0 },       { X86_I_STI, X86_SYS_STI, 0 },
    { X86_I_LGDT, X86_SYS_LGDT, 1 },     { X86_I_LIDT, X86_SYS_LIDT, 1 },
    { X86_I_SGDT, X86_SYS_SGDT, 0 },     { X86_I_SIDT, X86_SYS_SIDT, 0 },
    { X86_I_LLDT, X86_SYS_LLDT, 1 },     { X86_I_LTR, X86_SYS_LTR, 1 },
    { X86_I_SLDT, X86_SYS_SLDT, 0 },     { X86_I_STR, X86_SYS_STR, 0 },
    { X86_I_SMSW, X86_SYS_SMSW, 0 },     { X86_I_LMSW, X86_SYS_LMSW, 1 },
    { X86_I_CLTS, X86_SYS_CLTS, 1 },     { X86_I_INVLPG, X86_SYS_INVLPG, 1 },
    { X86_I_WBINVD, X86_SYS_WBINVD, 1 }, { X86_I_INVD, X86_SYS_WBINVD, 1 },
    { X86_I_SYSCALL, X86_SYS_SYSCALL, 0 }, { X86_I_SYSRET, X86_SYS_SYSRET, 1 },
    { X86_I_SYSENTER, X86_SYS_SYSENTER, 0 }, { X86_I_SYSEXIT, X86_SYS_SYSEXIT, 1 },
    { X86_I_SWAPGS, X86_SYS_SWAPGS, 1 }, { X86_I_VMCALL, X86_SYS_VMCALL, 0 },
    { X86_I_XGETBV, X86_SYS_XGETBV, 0 }, { X86_I_XSETBV, X86_SYS_XSETBV, 0 }, { X86_I_LDS, X86_SYS_LOAD_FAR_PTR, 0 },
    { X86_I_LES, X86_SYS_LOAD_FAR_PTR, 0 }, { X86_I_LFS, X86_SYS_LOAD_FAR_PTR, 0 },
    { X86_I_LGS, X86_SYS_LOAD_FAR_PTR, 0 }, { X86_I_LSS, X86_SYS_LOAD_FAR_PTR, 0 },
    { X86_I_INVPCID, X86_SYS_INVPCID, 0 },   /* #UD before the CPL check: the helper's */
};

static const uint8_t far_ptr_seg[X86_I_COUNT] = {
    [X86_I_LDS] = X86_DS, [X86_I_LES] = X86_ES, [X86_I_LFS] = X86_FS, [X86_I_LGS] = X86_GS, [X86_I_LSS] = X86_SS,
};

/* The memory operand's linear address, or a register's value, as the helper's b. */
static ir_val operand_value_or_addr(struct x86_ctx *c, unsigned i, unsigned size)
{
    const struct x86_operand *o = &c->in->o[i];
    if (o->kind == X86_OPND_MEM)
        return x86_operand_addr(c, o);
    return x86_resize(c, x86_read_op_sized(c, i, size), 8, false);
}

bool lift_sys_helper(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    unsigned i = 0;
    while (i < sizeof(sys_table) / sizeof(sys_table[0]) && sys_table[i].op != in->op)
        i++;
    enum x86_sysop op = (enum x86_sysop)sys_table[i].sysop;
    if (sys_table[i].priv && !cpl0_only(c))
        return true;
    ir_val b = IR_NONE;
    unsigned r1 = X86_SYS_NO_REG, r2 = X86_SYS_NO_REG, size = in->op_size;
    switch (op) {
    case X86_SYS_LGDT: case X86_SYS_LIDT: case X86_SYS_SGDT: case X86_SYS_SIDT: case X86_SYS_INVLPG:
        if (in->o[0].kind != X86_OPND_MEM)
            return false;
        b = x86_operand_addr(c, &in->o[0]);
        size = c->code == X86_CODE64 ? 8 : (in->prefixes & X86_PFX_OPSIZE) ? 2 : 4;
        if (op != X86_SYS_INVLPG)   /* limit and base: 6 or 10 bytes */
            x86_seg_guard(c, b, size == 8 ? 10 : 6, op == X86_SYS_SGDT || op == X86_SYS_SIDT);
        break;
    case X86_SYS_INVPCID:   /* type register, 16-byte descriptor in memory */
        if (in->o[0].kind != X86_OPND_REG || in->o[1].kind != X86_OPND_MEM)
            return false;
        b = x86_operand_addr(c, &in->o[1]);
        x86_seg_guard(c, b, 16, false);
        r1 = in->o[0].reg.num;
        size = in->o[0].size;
        break;
    case X86_SYS_LLDT: case X86_SYS_LTR: case X86_SYS_LMSW:
        b = x86_resize(c, x86_read_op_sized(c, 0, 2), 8, false);
        break;
    case X86_SYS_LOAD_FAR_PTR:
        if (in->o[1].kind != X86_OPND_MEM)
            return false;
        b = operand_value_or_addr(c, 1, in->o[0].size);
        x86_seg_guard(c, b, in->o[0].size + 2, false);   /* offset and selector */
        r1 = far_ptr_seg[in->op];
        r2 = in->o[0].reg.num;
        size = in->o[0].size;
        break;
    case X86_SYS_SLDT: case X86_SYS_STR: case X86_SYS_SMSW: {
        ir_val v = x86_sys_call(c, op, size, r1, r2, IR_NONE, IR_NONE);
        unsigned wsize = in->o[0].kind == X86_OPND_MEM ? 2 : in->o[0].size;
        x86_write_op(c, 0, x86_resize(c, v, wsize, false));
        finish(c, op);
        return true;
    }
    default:
        break;
    }
    x86_sys_call(c, op, size, r1, r2, b, IR_NONE);
    if (op == X86_SYS_STI || op == X86_SYS_CLI) {
        /* IF is not part of the mode key: the block goes on (STI's shadow is the
         * next instruction, after which the translator ends the block). */
        c->shadow = op == X86_SYS_STI;
        return true;
    }
    finish(c, op);
    return true;
}

bool lift_rdpid(struct x86_ctx *c)
{
    const struct x86_operand *d = &c->in->o[0];
    if (d->kind != X86_OPND_REG || d->reg.cls != X86_RC_GPR)
        return false;
    x86_sys_call(c, X86_SYS_RDPID, d->size, d->reg.num, X86_SYS_NO_REG, IR_NONE, IR_NONE);
    finish(c, X86_SYS_RDPID);
    return true;
}

bool lift_fsgsbase(struct x86_ctx *c)
{
    static const uint8_t form[X86_I_COUNT] = {
        [X86_I_RDFSBASE] = X86_FSGS_RDFS, [X86_I_RDGSBASE] = X86_FSGS_RDGS,
        [X86_I_WRFSBASE] = X86_FSGS_WRFS, [X86_I_WRGSBASE] = X86_FSGS_WRGS,
    };
    const struct x86_operand *d = &c->in->o[0];
    if (d->kind != X86_OPND_REG || d->reg.cls != X86_RC_GPR)
        return false;
    x86_sys_call(c, X86_SYS_FSGSBASE, d->size, d->reg.num, form[c->in->op], IR_NONE, IR_NONE);
    finish(c, X86_SYS_FSGSBASE);
    return true;
}
