/* jit_rt.c - what compiled code calls out of line: the memory slow paths (the same
 * functions the interpreter's slow path uses), guest atomics, and the 128-bit
 * operations evaluated by the interpreter's own code so the tiers agree. */
#include "jit/jit.h"

#include "core/soft/soft.h"

ir_u128 jit_rt_load(struct soft_cpu *cpu, uint64_t va, uint32_t size, uint32_t access, uint64_t info)
{
    ir_u128 x = 0;
    mmu_read_bytes(cpu, va, &x, size, access, info);
    return x;
}

void jit_rt_store(struct soft_cpu *cpu, uint64_t va, ir_u128 value, uint32_t size, uint32_t access, uint64_t info)
{
    mmu_write_bytes(cpu, va, &value, size, access, info);
}

uint64_t jit_rt_load64(struct soft_cpu *cpu, uint64_t va, uint32_t size, uint32_t access, uint64_t info)
{
    uint64_t x = 0;
    mmu_read_bytes(cpu, va, &x, size, access, info);
    return x;
}

void jit_rt_store64(struct soft_cpu *cpu, uint64_t va, uint64_t value, uint32_t size, uint32_t access, uint64_t info)
{
    mmu_write_bytes(cpu, va, &value, size, access, info);
}

ir_u128 jit_rt_cmpxchg(struct soft_cpu *cpu, uint64_t va, uint32_t size, uint32_t access, uint64_t info,
                       ir_u128 expected, ir_u128 desired)
{
    return interp_cmpxchg(cpu, va, size, access, info, expected, desired);
}

ir_u128 jit_rt_rmw(struct soft_cpu *cpu, uint64_t va, uint32_t size, uint32_t access, uint32_t kind,
                   ir_u128 operand)
{
    return interp_rmw(cpu, va, size, access, (enum ir_rmw_kind)kind, operand);
}

ir_u128 jit_rt_op128(uint32_t op, ir_u128 a, ir_u128 b)
{
    return interp_eval_op((enum ir_op)op, 128, a, b);
}
