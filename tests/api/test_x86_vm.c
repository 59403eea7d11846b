/* Intel flavour, VM level: creation rules, the guest-physical map with Apple's
 * rules, and misuse returning the exact HV_* codes while the VM stays usable. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <sys/mman.h>

#include "support/backend.h"

#define PAGE 0x1000u

static uint8_t *mem;
static const size_t mem_size = 64 * PAGE;

static void setup(void)
{
    test_require_backend();
    mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(mem, MAP_FAILED);
    cr_assert_eq(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
}

static void teardown(void)
{
    hv_vm_destroy();
    munmap(mem, mem_size);
}

TestSuite(x86_vm, .init = setup, .fini = teardown);

Test(x86_vm, second_create_is_busy_and_destroy_without_vm_is_refused)
{
    cr_expect_eq(hv_vm_create(HV_VM_DEFAULT), HV_BUSY);
    cr_assert_eq(hv_vm_destroy(), HV_SUCCESS);
    cr_expect_eq(hv_vm_destroy(), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_map(mem, 0, PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT, "no VM, no map");
    cr_assert_eq(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS, "a VM can be created again");
}

Test(x86_vm, capabilities)
{
    uint64_t v = 0;
    cr_expect_eq(hv_capability(HV_CAP_VCPUMAX, &v), HV_SUCCESS);
    cr_expect_geq(v, 1);
    cr_expect_eq(hv_capability(HV_CAP_ADDRSPACEMAX, &v), HV_SUCCESS);
    cr_expect_geq(v, 1);
    cr_expect_eq(hv_capability(HV_CAP_VCPUMAX, NULL), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_capability(77, &v), HV_BAD_ARGUMENT);
}

Test(x86_vm, map_alignment_and_range_rules)
{
    cr_expect_eq(hv_vm_map(mem, 0x800, PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT, "gpa not 4K-aligned");
    cr_expect_eq(hv_vm_map(mem, 0, PAGE / 2, HV_MEMORY_READ), HV_BAD_ARGUMENT, "size not 4K-aligned");
    cr_expect_eq(hv_vm_map(mem + 1, 0, PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT, "host not page-aligned");
    cr_expect_eq(hv_vm_map(mem, 0, 0, HV_MEMORY_READ), HV_BAD_ARGUMENT, "empty");
    cr_expect_eq(hv_vm_map(mem, 0, PAGE, 1u << 5), HV_BAD_ARGUMENT, "unknown flag");
    cr_expect_eq(hv_vm_map(mem, ~0ull & ~(uint64_t)(PAGE - 1), PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT,
                 "beyond the address space");
    cr_expect_eq(hv_vm_map(NULL, 0, PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_map(mem, 0x100000, 16 * PAGE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC),
                 HV_SUCCESS, "the VM is still usable after the refusals");
}

Test(x86_vm, overlapping_maps_are_refused)
{
    cr_assert_eq(hv_vm_map(mem, 0x10000, 8 * PAGE, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
    cr_expect_eq(hv_vm_map(mem + 16 * PAGE, 0x14000, 8 * PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_map(mem + 16 * PAGE, 0xf000, 2 * PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_map(mem + 16 * PAGE, 0x18000, 8 * PAGE, HV_MEMORY_READ), HV_SUCCESS, "adjacent");
}

Test(x86_vm, partial_unmap_splits_and_remap_fills_the_hole)
{
    cr_assert_eq(hv_vm_map(mem, 0, 16 * PAGE, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
    cr_assert_eq(hv_vm_unmap(4 * PAGE, 2 * PAGE), HV_SUCCESS);
    cr_expect_eq(hv_vm_unmap(4 * PAGE, PAGE), HV_BAD_ARGUMENT, "already unmapped");
    cr_expect_eq(hv_vm_protect(3 * PAGE, 2 * PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT, "covers the hole");
    cr_expect_eq(hv_vm_map(mem + 32 * PAGE, 3 * PAGE, 2 * PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT,
                 "overlaps the remaining head");
    cr_expect_eq(hv_vm_map(mem + 32 * PAGE, 4 * PAGE, 2 * PAGE, HV_MEMORY_READ), HV_SUCCESS, "fills the hole");
    cr_expect_eq(hv_vm_unmap(0, 16 * PAGE), HV_SUCCESS, "unmap across all three ranges");
    cr_expect_eq(hv_vm_unmap(0, PAGE), HV_BAD_ARGUMENT);
}

Test(x86_vm, protect_splits_and_checks)
{
    cr_assert_eq(hv_vm_map(mem, 0, 8 * PAGE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    cr_expect_eq(hv_vm_protect(2 * PAGE, PAGE, HV_MEMORY_READ), HV_SUCCESS);
    cr_expect_eq(hv_vm_protect(2 * PAGE, PAGE, 1u << 7), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_protect(0x801, PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_unmap(2 * PAGE, PAGE), HV_SUCCESS, "the protected page is its own range now");
}

Test(x86_vm, destroy_with_live_vcpu_is_busy)
{
    hv_vcpuid_t vcpu;
    cr_assert_eq(hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT), HV_SUCCESS);
    cr_expect_eq(hv_vm_destroy(), HV_BUSY);
    cr_assert_eq(hv_vcpu_destroy(vcpu), HV_SUCCESS);
    cr_expect_eq(hv_vm_destroy(), HV_SUCCESS);
    cr_assert_eq(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
}

Test(x86_vm, address_spaces)
{
    hv_vm_space_t asid;
    cr_assert_eq(hv_vm_space_create(&asid), HV_SUCCESS);
    cr_expect_neq(asid, HV_VM_SPACE_DEFAULT);
    cr_expect_eq(hv_vm_space_create(NULL), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_space_destroy(HV_VM_SPACE_DEFAULT), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_space_destroy(asid + 100), HV_BAD_ARGUMENT);
    hv_return_t r = hv_vm_map_space(asid, mem, 0, PAGE, HV_MEMORY_READ);
    if (strcmp(anyhv_backend_name(), "kvm") == 0)
        cr_expect_eq(r, HV_UNSUPPORTED, "KVM has one guest-physical space per VM");
    else
        cr_expect_eq(r, HV_SUCCESS);
    cr_expect_eq(hv_vm_map(mem, 0, PAGE, HV_MEMORY_READ), HV_SUCCESS, "the default space is separate");
    cr_expect_eq(hv_vm_space_destroy(asid), HV_SUCCESS);
    cr_expect_eq(hv_vm_map_space(asid, mem, 0, PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT, "destroyed");
}

/* hv_vm_map checks the host range: it must be mapped, readable when the guest may read
 * or execute it, writable when the guest may write it. */
Test(x86_vm, map_refuses_host_memory_that_is_not_there_or_forbids_the_access)
{
    uint8_t *hole = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(hole, MAP_FAILED);
    cr_assert_eq(munmap(hole + PAGE, PAGE), 0);
    cr_expect_eq(hv_vm_map(hole + PAGE, 0, PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT, "unmapped");
    cr_expect_eq(hv_vm_map(hole, 0, 2 * PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT, "half unmapped");
    cr_expect_eq(hv_vm_map(hole, 0, PAGE, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS, "the mapped half");
    cr_expect_eq(hv_vm_unmap(0, PAGE), HV_SUCCESS);
    cr_assert_eq(mprotect(hole, PAGE, PROT_NONE), 0);
    cr_expect_eq(hv_vm_map(hole, 0, PAGE, HV_MEMORY_READ), HV_BAD_ARGUMENT, "PROT_NONE");
    cr_assert_eq(mprotect(hole, PAGE, PROT_READ), 0);
    cr_expect_eq(hv_vm_map(hole, 0, PAGE, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_BAD_ARGUMENT, "read-only host");
    cr_expect_eq(hv_vm_map(hole, 0, PAGE, HV_MEMORY_READ | HV_MEMORY_EXEC), HV_SUCCESS, "read-only is fine to read");
    cr_expect_eq(hv_vm_unmap(0, PAGE), HV_SUCCESS);
    munmap(hole, PAGE);
}

static uint8_t not_allocated[4 * PAGE] __attribute__((aligned(PAGE)));

/* hv_vm_deallocate takes back only what hv_vm_allocate gave: the program's own memory
 * is refused and stays mapped. */
Test(x86_vm, deallocate_only_takes_what_allocate_gave)
{
    not_allocated[0] = 1;
    cr_expect_eq(hv_vm_deallocate(not_allocated, PAGE), HV_BAD_ARGUMENT, ".bss");
    cr_expect_eq(hv_vm_deallocate(mem, PAGE), HV_BAD_ARGUMENT, "the client's own mmap");
    not_allocated[0] = 2;   /* still there */
    mem[0] = 1;
    void *a = NULL;
    cr_assert_eq(hv_vm_allocate(&a, 4 * PAGE, HV_ALLOCATE_DEFAULT), HV_SUCCESS);
    uint8_t *p = a;
    cr_expect_eq(hv_vm_deallocate(p + PAGE, PAGE), HV_SUCCESS, "a piece of an allocation");
    cr_expect_eq(hv_vm_deallocate(p + PAGE, PAGE), HV_BAD_ARGUMENT, "already given back");
    cr_expect_eq(hv_vm_deallocate(p, 2 * PAGE), HV_BAD_ARGUMENT, "spans a hole");
    cr_expect_eq(hv_vm_deallocate(p, PAGE), HV_SUCCESS);
    cr_expect_eq(hv_vm_deallocate(p + 2 * PAGE, 2 * PAGE), HV_SUCCESS);
    cr_expect_eq(hv_vm_deallocate(p + 2 * PAGE, 2 * PAGE), HV_BAD_ARGUMENT, "twice");
}
