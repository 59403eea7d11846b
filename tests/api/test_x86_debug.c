/* Intel flavour, the debugging extensions (include/anyhv/debug.h): guest-virtual
 * translation through page tables the test writes (on every backend), and the
 * software route's breakpoint/watchpoint bookkeeping and argument checks (KVM says
 * HV_UNSUPPORTED). Running under breakpoints and watchpoints is tested through the
 * gdb stub (tests/tools/gdb). */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <sys/mman.h>

#include "support/backend.h"

#define RAM_BYTES (2u << 20)
#define PML4 0x1000u
#define PDPT 0x2000u
#define PD 0x3000u
#define PT 0x4000u
#define TARGET_PAGE 0x9000u
#define PTE_P 1ull
#define PTE_W 2ull
#define PTE_A (1ull << 5)
#define TEST_VA 0x00007f8040201000ull   /* PML4 255, PDPT 2, PD 1, PT 1 */

static hv_vcpuid_t vcpu;
static uint8_t *ram;

static void put64(uint64_t gpa, uint64_t v)
{
    memcpy(ram + gpa, &v, 8);
}

static void setup(void)
{
    test_require_backend();
    cr_assert_eq(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
    ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(ram, MAP_FAILED);
    cr_assert_eq(hv_vm_map(ram, 0, RAM_BYTES, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT), HV_SUCCESS);
    /* 4-level tables mapping TEST_VA's page to TARGET_PAGE, accessed bits clear. */
    put64(PML4 + 8 * ((TEST_VA >> 39) & 511), PDPT | PTE_P | PTE_W);
    put64(PDPT + 8 * ((TEST_VA >> 30) & 511), PD | PTE_P | PTE_W);
    put64(PD + 8 * ((TEST_VA >> 21) & 511), PT | PTE_P | PTE_W);
    put64(PT + 8 * ((TEST_VA >> 12) & 511), TARGET_PAGE | PTE_P | PTE_W);
}

static void teardown(void)
{
    hv_vcpu_destroy(vcpu);
    hv_vm_destroy();
    munmap(ram, RAM_BYTES);
}

TestSuite(x86_debug, .init = setup, .fini = teardown);

static void enter_long_mode(void)
{
    cr_assert_eq(hv_vcpu_write_register(vcpu, HV_X86_CR3, PML4), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_write_register(vcpu, HV_X86_CR4, 0x2020), HV_SUCCESS);   /* PAE, VMXE */
    cr_assert_eq(hv_vcpu_write_msr(vcpu, 0xc0000080u, 0x500), HV_SUCCESS);          /* LME, LMA */
    cr_assert_eq(hv_vcpu_write_register(vcpu, HV_X86_CR0, 0x80010033ull), HV_SUCCESS);
}

Test(x86_debug, translate_walks_the_guest_tables_without_side_effects)
{
    enter_long_mode();
    uint64_t gpa = 0;
    cr_assert_eq(anyhv_vcpu_translate(vcpu, TEST_VA + 0x123, &gpa), HV_SUCCESS);
    cr_expect_eq(gpa, TARGET_PAGE + 0x123);
    cr_expect_eq(anyhv_vcpu_translate(vcpu, TEST_VA + 0x1000, &gpa), HV_FAULT, "the next page is not mapped");
    uint64_t pte;
    memcpy(&pte, ram + PT + 8 * ((TEST_VA >> 12) & 511), 8);
    cr_expect_eq(pte & PTE_A, 0, "a debugger's walk sets no accessed bit");
}

Test(x86_debug, translate_without_paging_is_the_identity)
{
    uint64_t gpa = 0;
    cr_assert_eq(hv_vcpu_write_register(vcpu, HV_X86_CR0, 0x10), HV_SUCCESS);
    cr_assert_eq(anyhv_vcpu_translate(vcpu, 0x12345, &gpa), HV_SUCCESS);
    cr_expect_eq(gpa, 0x12345);
    cr_expect_eq(anyhv_vcpu_translate(vcpu, 0x12345, NULL), HV_BAD_ARGUMENT);
    cr_expect_eq(anyhv_vcpu_translate(vcpu + 7, 0x12345, &gpa), HV_BAD_ARGUMENT);
}

Test(x86_debug, breakpoints_and_watchpoints_are_bounded_and_checked)
{
    if (anyhv_get_backend() != ANYHV_BACKEND_SOFT) {
        /* KVM: the four debug registers KVM_SET_GUEST_DEBUG offers; no watchpoints. */
        for (uint64_t i = 0; i < 4; i++)
            cr_assert_eq(anyhv_vcpu_set_breakpoint(vcpu, 0x1000 + i, true), HV_SUCCESS);
        cr_expect_eq(anyhv_vcpu_set_breakpoint(vcpu, 0x2000, true), HV_NO_RESOURCES);
        cr_expect_eq(anyhv_vcpu_set_instruction_budget(vcpu, 2), HV_UNSUPPORTED);
        cr_expect_eq(anyhv_vcpu_set_instruction_budget(vcpu, 1), HV_SUCCESS, "a single step");
        cr_expect_eq(anyhv_vcpu_set_watchpoint(vcpu, 0x1000, 4, ANYHV_WATCH_WRITE, true), HV_UNSUPPORTED);
        uint32_t n;
        cr_expect_eq(anyhv_vcpu_get_tlb(vcpu, NULL, 0, &n), HV_UNSUPPORTED);
        return;
    }
    for (uint64_t i = 0; i < ANYHV_MAX_BREAKPOINTS; i++)
        cr_assert_eq(anyhv_vcpu_set_breakpoint(vcpu, 0x1000 + i, true), HV_SUCCESS);
    cr_expect_eq(anyhv_vcpu_set_breakpoint(vcpu, 0x1000, true), HV_SUCCESS, "adding one twice is fine");
    cr_expect_eq(anyhv_vcpu_set_breakpoint(vcpu, 0x9999, true), HV_NO_RESOURCES);
    cr_expect_eq(anyhv_vcpu_set_breakpoint(vcpu, 0x1000, false), HV_SUCCESS);
    cr_expect_eq(anyhv_vcpu_set_breakpoint(vcpu, 0x9999, true), HV_SUCCESS, "a slot came free");
    cr_expect_eq(anyhv_vcpu_set_watchpoint(vcpu, 0x1000, 0, ANYHV_WATCH_WRITE, true), HV_BAD_ARGUMENT);
    cr_expect_eq(anyhv_vcpu_set_watchpoint(vcpu, UINT64_MAX, 2, ANYHV_WATCH_WRITE, true), HV_BAD_ARGUMENT);
    cr_expect_eq(anyhv_vcpu_set_watchpoint(vcpu, 0x1000, 4, (anyhv_watch_kind_t)9, true), HV_BAD_ARGUMENT);
    for (uint64_t i = 0; i < ANYHV_MAX_WATCHPOINTS; i++)
        cr_assert_eq(anyhv_vcpu_set_watchpoint(vcpu, 0x1000 + 8 * i, 8, ANYHV_WATCH_ACCESS, true), HV_SUCCESS);
    cr_expect_eq(anyhv_vcpu_set_watchpoint(vcpu, 0x9000, 8, ANYHV_WATCH_READ, true), HV_NO_RESOURCES);
    anyhv_stop_t stop;
    cr_expect_eq(anyhv_vcpu_get_stop(vcpu, &stop), HV_SUCCESS);
    cr_expect_eq(stop.kind, ANYHV_STOP_NONE, "nothing ran yet");
    cr_expect_eq(anyhv_vcpu_get_stop(vcpu, NULL), HV_BAD_ARGUMENT);
    uint32_t n = 99;
    cr_expect_eq(anyhv_vcpu_get_tlb(vcpu, NULL, 0, &n), HV_SUCCESS);
    cr_expect_eq(n, 0, "a new vCPU's TLB is empty");
    cr_expect_eq(anyhv_vcpu_get_tlb(vcpu, NULL, 4, &n), HV_BAD_ARGUMENT);
}
