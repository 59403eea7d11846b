/* toy.h - a tiny test-only guest ISA with its soft_frontend, so the dispatcher,
 * interpreter, cache and MMU plumbing run end to end without a real frontend.
 * Registers are the x86 state's gpr[0..15]; the pc is its rip. Encoding: byte 0
 * opcode, byte 1 rd, byte 2 rs, byte 3 signed imm8; 4 bytes long except MOVI (12). */
#ifndef ANYHV_TESTS_TOY_H
#define ANYHV_TESTS_TOY_H

#include <stdint.h>

#include "core/soft/soft.h"
#include "core/vm.h"
#include "jit/ir.h"

enum toy_op {
    TOY_HALT = 0x00,  /* STOP halt, pc = next */
    TOY_MOVI = 0x01,  /* rd = imm64 (bytes 4..11) */
    TOY_ADD = 0x02,   /* rd += rs */
    TOY_ADDI = 0x03,  /* rd += imm8 */
    TOY_LD = 0x04,    /* rd = [rs + imm8], 8 bytes */
    TOY_ST = 0x05,    /* [rs + imm8] = rd, 8 bytes */
    TOY_JNZ = 0x06,   /* if rd != 0: pc = next + imm8 * 4 */
    TOY_OUT = 0x07,   /* exit to the client: PIO port imm8, data rd; retires */
    TOY_UD = 0x08,    /* undefined: exception */
    TOY_JMP = 0x09,   /* pc = next + imm8 * 4 */
    TOY_LDB = 0x0a,   /* rd = [rs + imm8], 1 byte */
    TOY_STB = 0x0b,   /* [rs + imm8] = rd, 1 byte */
    TOY_CAS = 0x0c,   /* r0 = cmpxchg8([rs], expected r0, new rd) */
    TOY_HELP = 0x0d,  /* rd = helper(rd): doubles; faults when rd == TOY_HELPER_FAULT */
    TOY_XADD = 0x0e,  /* rd = atomic fetch-add([rs], rd) */
};

#define TOY_HELPER_FAULT 0xdeadull
/* Virtual addresses at or above this fault in the toy's stage 1. */
#define TOY_VA_FAULT_BASE 0x80000000ull
/* Exceptions: r14 = pc of the faulting instruction, r13 = cause, pc = r15. */
enum toy_cause { TOY_CAUSE_UD = 1, TOY_CAUSE_PAGE = 2, TOY_CAUSE_HELPER = 3 };

extern const struct soft_frontend toy_frontend;

/* Encoders. */
static inline uint8_t *toy_emit(uint8_t *p, enum toy_op op, unsigned rd, unsigned rs, int imm8)
{
    if (imm8 < -128 || imm8 > 127)
        __builtin_trap();   /* a test wrote an unencodable branch */
    p[0] = (uint8_t)op;
    p[1] = (uint8_t)rd;
    p[2] = (uint8_t)rs;
    p[3] = (uint8_t)(int8_t)imm8;
    return p + 4;
}

static inline uint8_t *toy_movi(uint8_t *p, unsigned rd, uint64_t imm)
{
    p = toy_emit(p, TOY_MOVI, rd, 0, 0);
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(imm >> (8 * i));
    return p + 8;
}

#endif /* ANYHV_TESTS_TOY_H */
