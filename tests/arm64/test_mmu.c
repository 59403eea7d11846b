/* Stage-1 MMU with crafted translation tables, once per granule (4, 16, 64 KiB):
 * translation, translation/permission/access-flag faults at the right level with
 * ESR_EL1 and FAR_EL1, EL0 permissions, TTBR1 for the upper range, a 4 KiB-granule
 * block, TLBI making a changed mapping visible, and a stage-2 fault on the table
 * walk reported to the client with S1PTW. */
#include "a64_test.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x800000ull
#define CODE_PA RAM_BASE                 /* identity-mapped code and vectors */
#define VBAR (CODE_PA + 0x800)
#define DATA_PA (RAM_BASE + 0x200000)    /* 2 MiB aligned: also a 4 KiB-granule block */
#define TABLES_PA (RAM_BASE + 0x400000)
#define DATA_VA 0x10000000ull
#define BLOCK_VA 0x30000000ull
#define UPPER_VA 0xffffff8000200000ull   /* TTBR1 range with T1SZ = 25 */
#define MAGIC_A 0x1111222233334444ull
#define MAGIC_B 0x5555666677778888ull
#define MAGIC_C 0x99990000aaaabbbbull
#define BLOCK2_PA (RAM_BASE + 0x600000)  /* where the block is moved to */
#define VA_BITS 39
/* Descriptor bits. */
#define D_VALID 1ull
#define D_TABLE 3ull
#define D_PAGE 3ull
#define D_BLOCK 1ull
#define D_AP_EL0 (1ull << 6)
#define D_AP_RO (1ull << 7)
#define D_SH_INNER (3ull << 8)
#define D_AF (1ull << 10)
#define D_NG (1ull << 11)
#define D_OA_MASK 0x0000fffffffff000ull
#define NORMAL (D_AF | D_SH_INNER)
/* TCR / SCTLR */
#define TCR_EPD1 (1ull << 23)
#define TCR_IPS_48 (5ull << 32)
#define SCTLR_M 1ull
/* Fault status codes */
#define FSC_TRANS(l) (0x04u | (l))
#define FSC_AF(l) (0x08u | (l))
#define FSC_PERM(l) (0x0cu | (l))
#define EC_DABT_CUR 0x25u
#define ESR(ec, iss) (((uint64_t)(ec) << 26) | (1ull << 25) | (iss))
#define WNR (1u << 6)

/* Code at CODE_PA (entry offsets in the comments). */
static const uint32_t code[] = {
    0xf9400001u,   /* 0x00: ldr x1, [x0] */
    0xd4000002u,   /* 0x04: hvc #0 */
    0xd503201fu,   /* 0x08: nop */
    0xd503201fu,   /* 0x0c: nop */
    0xf9000001u,   /* 0x10: str x1, [x0] */
    0xd4000002u,   /* 0x14: hvc #0 */
    0xd503201fu,   /* 0x18 */
    0xd503201fu,   /* 0x1c */
    0xf9400001u,   /* 0x20: ldr x1, [x0] */
    0xd4000042u,   /* 0x24: hvc #2 (host rewrites the mapping) */
    0xd508871fu,   /* 0x28: tlbi vmalle1 */
    0xd5033b9fu,   /* 0x2c: dsb ish */
    0xd5033fdfu,   /* 0x30: isb */
    0xf9400003u,   /* 0x34: ldr x3, [x0] */
    0xd4000002u,   /* 0x38: hvc #0 */
    0xf9400001u,   /* 0x3c: ldr x1, [x0] */
    0xd4000042u,   /* 0x40: hvc #2 (host rewrites the mapping) */
    0xd5088724u,   /* 0x44: tlbi vae1, x4 */
    0xd5033b9fu,   /* 0x48: dsb ish */
    0xd5033fdfu,   /* 0x4c: isb */
    0xf9400003u,   /* 0x50: ldr x3, [x0] */
    0xd4000002u,   /* 0x54: hvc #0 */
};
static const uint32_t hvc1 = 0xd4000022u;   /* vector body: hvc #1 */

struct pt {
    struct a64_vm *vm;
    unsigned grain;      /* log2 of the granule */
    uint64_t root, next;
};

static uint64_t *at(struct pt *p, uint64_t pa)
{
    return (uint64_t *)(p->vm->mem + (pa - RAM_BASE));
}

static uint64_t table_alloc(struct pt *p)
{
    uint64_t size = 1ull << p->grain;
    uint64_t pa = (p->next + size - 1) & ~(size - 1);
    p->next = pa + size;
    cr_assert_leq(p->next, RAM_BASE + RAM_SIZE);
    memset(at(p, pa), 0, size);
    return pa;
}

static int start_level(unsigned grain)
{
    unsigned stride = grain - 3;
    return 4 - (int)((VA_BITS - grain + stride - 1) / stride);
}

/* Map va -> pa at leaf level `leaf` with attributes; returns the leaf entry's address. */
static uint64_t pt_map(struct pt *p, uint64_t va, uint64_t pa, uint64_t attrs, int leaf)
{
    unsigned stride = p->grain - 3;
    uint64_t table = p->root;
    int start = start_level(p->grain);
    for (int level = start;; level++) {
        unsigned shift = p->grain + (unsigned)(3 - level) * stride;
        unsigned bits = level == start ? VA_BITS - shift : stride;   /* the first table may be partial */
        uint64_t idx = (va >> shift) & ((1ull << bits) - 1);
        uint64_t *slot = at(p, table + idx * 8);
        if (level == leaf) {
            *slot = pa | attrs | (level == 3 ? D_PAGE : D_BLOCK);
            return table + idx * 8;
        }
        if (!(*slot & D_VALID))
            *slot = table_alloc(p) | D_TABLE;
        table = *slot & D_OA_MASK & ~((1ull << p->grain) - 1);
    }
}

static struct a64_vm vm;

static void run_at(uint64_t offset, uint64_t x0)
{
    a64_set(&vm, HV_REG_PC, CODE_PA + offset);
    a64_set(&vm, HV_REG_X0, x0);
}

static uint64_t hvc_imm(void)
{
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC, "EC %#x", ESR_EC(esr));
    return ESR_ISS(esr);
}

/* A fault taken to EL1: the vector's HVC #1 reports it. */
static void expect_el1_fault(uint64_t esr_el1, uint64_t far)
{
    cr_assert_eq(hvc_imm(), 1, "the access faulted to EL1");
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ESR_EL1), esr_el1, "ESR_EL1 %#llx",
                 (unsigned long long)a64_sys(&vm, HV_SYS_REG_ESR_EL1));
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_FAR_EL1), far);
}

static void mmu_suite(unsigned grain)
{
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    memcpy(vm.mem, code, sizeof(code));
    for (unsigned off = 0; off < 0x800; off += 0x80)
        memcpy(vm.mem + (VBAR - RAM_BASE) + off, &hvc1, 4);
    *(uint64_t *)(vm.mem + (DATA_PA - RAM_BASE)) = MAGIC_A;
    uint64_t page = 1ull << grain;
    *(uint64_t *)(vm.mem + (DATA_PA - RAM_BASE) + page) = MAGIC_B;

    struct pt p = { .vm = &vm, .grain = grain, .next = TABLES_PA };
    p.root = table_alloc(&p);
    struct pt p1 = { .vm = &vm, .grain = grain };
    /* Code + vectors: read-only for both ELs, executable. */
    pt_map(&p, CODE_PA, CODE_PA, NORMAL | D_AP_RO | D_AP_EL0, 3);
    uint64_t leaf = pt_map(&p, DATA_VA, DATA_PA, NORMAL, 3);
    pt_map(&p, DATA_VA + 2 * page, DATA_PA, NORMAL | D_AP_RO, 3);                /* read-only */
    pt_map(&p, DATA_VA + 3 * page, DATA_PA, D_SH_INNER, 3);                      /* AF = 0 */
    uint64_t block_leaf = 0;
    if (grain == 12)
        block_leaf = pt_map(&p, BLOCK_VA, DATA_PA, NORMAL, 2);                     /* 2 MiB block */
    p1.next = p.next;
    p1.root = table_alloc(&p1);
    pt_map(&p1, UPPER_VA, DATA_PA + page, NORMAL | D_NG, 3);

    unsigned tg0 = grain == 12 ? 0 : grain == 16 ? 1 : 2, tg1 = grain == 12 ? 2 : grain == 14 ? 1 : 3;
    uint64_t tcr = (64 - VA_BITS) | ((uint64_t)(64 - VA_BITS) << 16) | ((uint64_t)tg0 << 14) |
                   ((uint64_t)tg1 << 30) | TCR_IPS_48;
    a64_set_sys(&vm, HV_SYS_REG_MAIR_EL1, 0xff);
    a64_set_sys(&vm, HV_SYS_REG_TCR_EL1, tcr);
    a64_set_sys(&vm, HV_SYS_REG_TTBR0_EL1, p.root);
    a64_set_sys(&vm, HV_SYS_REG_TTBR1_EL1, p1.root | (5ull << 48));
    a64_set_sys(&vm, HV_SYS_REG_VBAR_EL1, VBAR);
    a64_set_sys(&vm, HV_SYS_REG_SCTLR_EL1, a64_sys(&vm, HV_SYS_REG_SCTLR_EL1) | SCTLR_M);

    /* Translation through TTBR0. */
    run_at(0x00, DATA_VA + 8 - 8);
    cr_assert_eq(hvc_imm(), 0);
    cr_expect_eq(a64_reg(&vm, HV_REG_X1), MAGIC_A);
    /* Next page unmapped: translation fault at level 3, FAR = the VA. */
    run_at(0x00, DATA_VA + page + 0x18);
    expect_el1_fault(ESR(EC_DABT_CUR, FSC_TRANS(3)), DATA_VA + page + 0x18);
    /* Write to a read-only page: permission fault, WnR. */
    run_at(0x10, DATA_VA + 2 * page);
    expect_el1_fault(ESR(EC_DABT_CUR, FSC_PERM(3) | WNR), DATA_VA + 2 * page);
    /* AF clear: access flag fault (no hardware update is offered). */
    run_at(0x00, DATA_VA + 3 * page + 8);
    expect_el1_fault(ESR(EC_DABT_CUR, FSC_AF(3)), DATA_VA + 3 * page + 8);
    /* Upper range through TTBR1 (non-global, ASID 5). */
    run_at(0x00, UPPER_VA);
    cr_assert_eq(hvc_imm(), 0);
    cr_expect_eq(a64_reg(&vm, HV_REG_X1), MAGIC_B);
    /* Block (4 KiB granule only): offset into the 2 MiB block. */
    if (grain == 12) {
        run_at(0x00, BLOCK_VA + page);
        cr_assert_eq(hvc_imm(), 0);
        cr_expect_eq(a64_reg(&vm, HV_REG_X1), MAGIC_B);
    }
    /* TLBI by VA of another page of a block drops the whole block: the page read
     * before sees the moved block (the TLB holds blocks as page pieces). */
    if (grain == 12) {
        *(uint64_t *)(vm.mem + (BLOCK2_PA - RAM_BASE) + page) = MAGIC_C;
        run_at(0x3c, BLOCK_VA + page);
        a64_set(&vm, HV_REG_X4, (BLOCK_VA + 0x100000) >> 12);   /* past the 64 KiB granule */
        cr_assert_eq(hvc_imm(), 2);
        cr_expect_eq(a64_reg(&vm, HV_REG_X1), MAGIC_B);
        *at(&p, block_leaf) = BLOCK2_PA | NORMAL | D_BLOCK;
        cr_assert_eq(hvc_imm(), 0);
        cr_expect_eq(a64_reg(&vm, HV_REG_X3), MAGIC_C, "TLBI VAE1 of a page of the block drops all of it");
    }
    /* EL0 may not read an EL1-only page: permission fault from the lower EL. */
    run_at(0x00, DATA_VA);
    a64_set(&vm, HV_REG_CPSR, 0x3c0);
    expect_el1_fault(ESR(EC_DABT_LOWER, FSC_PERM(3)), DATA_VA);
    a64_set(&vm, HV_REG_CPSR, 0x3c5);
    /* TLBI makes a rewritten mapping visible. */
    run_at(0x20, DATA_VA);
    cr_assert_eq(hvc_imm(), 2);
    cr_expect_eq(a64_reg(&vm, HV_REG_X1), MAGIC_A);
    *at(&p, leaf) = (DATA_PA + page) | NORMAL | D_PAGE;
    cr_assert_eq(hvc_imm(), 0);
    cr_expect_eq(a64_reg(&vm, HV_REG_X3), MAGIC_B, "after TLBI VMALLE1 the new mapping is used");
    /* A table base outside guest RAM: the walk itself misses stage 2 (S1PTW). */
    a64_set_sys(&vm, HV_SYS_REG_TTBR0_EL1, 0x80000000ull);
    run_at(0x00, DATA_VA);
    uint64_t esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_IABT_LOWER, "the fetch walks first");
    cr_expect_eq(DABT_S1PTW(esr), 1);
    cr_expect_eq(vm.exit->exception.physical_address & ~0xfffull, 0x80000000ull);
    cr_expect_eq(vm.exit->exception.virtual_address, CODE_PA);
    a64_vm_teardown(&vm);
}

Test(arm64_mmu, granule_4k) { mmu_suite(12); }
Test(arm64_mmu, granule_16k) { mmu_suite(14); }
Test(arm64_mmu, granule_64k) { mmu_suite(16); }
