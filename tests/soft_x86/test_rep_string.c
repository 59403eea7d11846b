/* test_rep_string.c - REP MOVS/STOS over many pages, as Linux clears and copies pages:
 * the results equal what one iteration at a time gives (the soft route moves such
 * runs in bulk, lift_string.c): a fill by quadwords from a misaligned start across
 * pages, a copy whose destination starts one byte into its source (the first byte
 * replicates forward, where a memmove would not), a plain copy across pages, and a
 * fill that runs off the end of RAM, which stops exactly at the first byte with
 * nothing behind it (RDI and RCX there). */
#include <criterion/criterion.h>

#include "support/backend.h"
#include "x86_guest.h"

#define FILL_AT 0x100003u       /* misaligned: quadwords straddle page boundaries */
#define FILL_QWORDS 3000u
#define FILL_VALUE 0x1122334455667788ull
#define SMEAR_AT 0x120000u      /* rep movsb from SMEAR_AT to SMEAR_AT + 1 */
#define SMEAR_BYTES 9000u
#define SMEAR_BYTE 0xabu
#define COPY_FROM 0x130000u
#define COPY_TO 0x140ff0u
#define COPY_BYTES 10000u
#define TAIL_AT (XG_RAM_SIZE - 0x1000u)   /* the last page of RAM */
#define TAIL_BYTES 0x2000u                /* the second half has nothing behind it */
#define TAIL_BYTE 0x5au

/* mov r64, imm32 (sign-extended): REX.W C7 /0 */
#define MOV_IMM32(modrm, v) 0x48, 0xc7, (modrm), (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), \
                            (uint8_t)((v) >> 24)
#define RDI 0xc7
#define RSI 0xc6
#define RCX 0xc1
#define RAX 0xc0

static const uint8_t code[] = {
    0xfc,                                              /* cld */
    0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* mov rax, FILL_VALUE */
    MOV_IMM32(RDI, FILL_AT), MOV_IMM32(RCX, FILL_QWORDS),
    0xf3, 0x48, 0xab,                                  /* rep stosq */
    MOV_IMM32(RSI, SMEAR_AT), MOV_IMM32(RDI, SMEAR_AT + 1), MOV_IMM32(RCX, SMEAR_BYTES),
    0xf3, 0xa4,                                        /* rep movsb */
    MOV_IMM32(RSI, COPY_FROM), MOV_IMM32(RDI, COPY_TO), MOV_IMM32(RCX, COPY_BYTES),
    0xf3, 0xa4,                                        /* rep movsb */
    MOV_IMM32(RAX, TAIL_BYTE), MOV_IMM32(RDI, TAIL_AT), MOV_IMM32(RCX, TAIL_BYTES),
    0xf3, 0xaa,                                        /* rep stosb: stops at the end of RAM */
    0xf4,                                              /* hlt (not reached) */
};

static uint8_t pattern(unsigned i)
{
    return (uint8_t)(i * 7u + 3u);
}

Test(soft_x86_rep_string, bulk_runs_equal_single_iterations)
{
    test_require_backend();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_long_mode(&g), 0);
    /* The next 2 MiB page maps guest-physical memory with nothing behind it. */
    ((uint64_t *)(g.ram + XG_PD))[1] = XG_RAM_SIZE | XG_PTE_P | XG_PTE_RW | XG_PTE_PS;
    memcpy(g.ram + XG_CODE, code, sizeof(code));
    g.ram[SMEAR_AT] = SMEAR_BYTE;
    for (unsigned i = 1; i <= SMEAR_BYTES; i++)
        g.ram[SMEAR_AT + i] = pattern(i);
    for (unsigned i = 0; i < COPY_BYTES; i++)
        g.ram[COPY_FROM + i] = pattern(i);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_EPT_VIOLATION, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_read_vmcs(&g, VMCS_GUEST_PHYSICAL_ADDRESS), XG_RAM_SIZE, "stopped at 0x%llx",
                 (unsigned long long)xg_read_vmcs(&g, VMCS_GUEST_PHYSICAL_ADDRESS));
    /* On KVM the exit comes from KVM's instruction emulator, which here (PVM) has
     * already counted the MMIO iteration in RCX: only the soft route's stop is exact. */
    const char *be = getenv("ANYHV_BACKEND");
    if (!be || strcmp(be, "kvm") != 0) {
        cr_expect_eq(xg_reg(&g, HV_X86_RDI), XG_RAM_SIZE);
        cr_expect_eq(xg_reg(&g, HV_X86_RCX), TAIL_BYTES - (XG_RAM_SIZE - TAIL_AT), "rcx 0x%llx",
                     (unsigned long long)xg_reg(&g, HV_X86_RCX));
    }
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), XG_CODE + sizeof(code) - 3, "on the rep stosb");

    for (unsigned i = 0; i < FILL_QWORDS; i++) {
        uint64_t v;
        memcpy(&v, g.ram + FILL_AT + 8 * i, sizeof(v));
        cr_assert_eq(v, FILL_VALUE, "fill: quadword %u is 0x%llx", i, (unsigned long long)v);
    }
    cr_expect_eq(g.ram[FILL_AT + 8 * FILL_QWORDS], 0, "fill: one past the end untouched");
    for (unsigned i = 0; i <= SMEAR_BYTES; i++)
        cr_assert_eq(g.ram[SMEAR_AT + i], SMEAR_BYTE, "smear: byte %u is 0x%x", i, g.ram[SMEAR_AT + i]);
    for (unsigned i = 0; i < COPY_BYTES; i++)
        cr_assert_eq(g.ram[COPY_TO + i], pattern(i), "copy: byte %u", i);
    for (unsigned i = 0; i < XG_RAM_SIZE - TAIL_AT; i++)
        cr_assert_eq(g.ram[TAIL_AT + i], TAIL_BYTE, "tail: byte %u", i);
    xg_destroy(&g);
}
