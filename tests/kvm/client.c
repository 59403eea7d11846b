/* Test client helpers (see client.h). */
#include "kvm/client.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "support/backend.h"

#define AR_CODE16 0x9bu        /* present, code, execute/read, accessed */
#define AR_DATA16 0x93u        /* present, data, read/write, accessed */
#define AR_LDT 0x82u
#define AR_TSS_BUSY 0x8bu
#define AR_UNUSABLE 0x10000u
#define AR_CODE64 0xa09bu      /* + L, G */
#define AR_DATA64 0xc093u      /* + D/B, G */
#define REAL_LIMIT 0xffffu
#define TSS_LIMIT 0x67u
#define CR0_NE 0x20u
#define CR0_PE 0x1u
#define CR0_PG 0x80000000u
#define CR4_PAE 0x20u
#define CR4_VMXE 0x2000u
#define EFER_LME 0x100u
#define EFER_LMA 0x400u
#define RFLAGS_FIXED 0x2u

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "guest image %s missing", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    cr_assert(buf && fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

void client_vm_init(struct client *c, const char *image)
{
    memset(c, 0, sizeof(*c));
    test_require_backend();
    cr_assert_eq(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
    c->ram = mmap(NULL, CLIENT_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(c->ram != MAP_FAILED);
    cr_assert_eq(hv_vm_map(c->ram, 0, CLIENT_RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    if (image) {
        char path[512];
        snprintf(path, sizeof(path), "%s/x86_64/%s.bin", ANYHV_GUEST_DIR, image);
        size_t size;
        uint8_t *bin = read_file(path, &size);
        cr_assert(size <= CLIENT_RAM_SIZE - CLIENT_LOAD_ADDR);
        memcpy(c->ram + CLIENT_LOAD_ADDR, bin, size);
        free(bin);
    }
}

void client_tiny_start(struct client *c)
{
    client_vm_init(c, "kvm_tiny");
    c->vcpu = client_vcpu_create();
    c->vcpu_live = true;
    client_real_mode(c->vcpu, TINY_HLT);
}

void client_vm_fini(struct client *c)
{
    if (c->vcpu_live)
        hv_vcpu_destroy(c->vcpu);
    hv_vm_destroy();
    if (c->ram && c->ram != MAP_FAILED)
        munmap(c->ram, CLIENT_RAM_SIZE);
}

uint64_t client_symbol(const char *image, const char *symbol)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/x86_64/%s.elf", ANYHV_GUEST_DIR, image);
    size_t size;
    uint8_t *elf = read_file(path, &size);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(elf + eh->e_shoff);
    uint64_t found = 0;
    bool ok = false;
    for (unsigned i = 0; i < eh->e_shnum && !ok; i++) {
        if (sh[i].sh_type != SHT_SYMTAB)
            continue;
        const Elf64_Sym *sym = (const Elf64_Sym *)(elf + sh[i].sh_offset);
        const char *names = (const char *)(elf + sh[sh[i].sh_link].sh_offset);
        for (size_t s = 0; s < sh[i].sh_size / sizeof(*sym); s++) {
            if (strcmp(names + sym[s].st_name, symbol) == 0) {
                found = sym[s].st_value;
                ok = true;
                break;
            }
        }
    }
    free(elf);
    cr_assert(ok, "symbol %s not in %s", symbol, path);
    return found;
}

bool client_kvm_emulated(void)
{
    const char *why = NULL;
    return anyhv_get_backend() == ANYHV_BACKEND_KVM && anyhv_backend_available(ANYHV_BACKEND_KVM, &why) && why &&
           strstr(why, "emulated") != NULL;
}

uint64_t rreg(hv_vcpuid_t vcpu, hv_x86_reg_t reg)
{
    uint64_t v = 0;
    cr_assert_eq(hv_vcpu_read_register(vcpu, reg, &v), HV_SUCCESS, "read register %d", (int)reg);
    return v;
}

void wreg(hv_vcpuid_t vcpu, hv_x86_reg_t reg, uint64_t value)
{
    cr_assert_eq(hv_vcpu_write_register(vcpu, reg, value), HV_SUCCESS, "write register %d", (int)reg);
}

uint64_t rvmcs(hv_vcpuid_t vcpu, uint32_t field)
{
    uint64_t v = 0;
    cr_assert_eq(hv_vmx_vcpu_read_vmcs(vcpu, field, &v), HV_SUCCESS, "read VMCS %#x", field);
    return v;
}

void wvmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t value)
{
    cr_assert_eq(hv_vmx_vcpu_write_vmcs(vcpu, field, value), HV_SUCCESS, "write VMCS %#x", field);
}

uint64_t cap_ctrl(hv_vmx_capability_t cap, uint64_t want)
{
    uint64_t v = 0;
    cr_assert_eq(hv_vmx_read_capability(cap, &v), HV_SUCCESS);
    return (want | (v & 0xffffffffu)) & (v >> 32);
}

hv_vcpuid_t client_vcpu_create(void)
{
    hv_vcpuid_t vcpu;
    cr_assert_eq(hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT), HV_SUCCESS);
    wvmcs(vcpu, VMCS_CTRL_PIN_BASED, cap_ctrl(HV_VMX_CAP_PINBASED, 0));
    wvmcs(vcpu, VMCS_CTRL_CPU_BASED, cap_ctrl(HV_VMX_CAP_PROCBASED, CPU_BASED_HLT));
    wvmcs(vcpu, VMCS_CTRL_CPU_BASED2, cap_ctrl(HV_VMX_CAP_PROCBASED2, CPU_BASED2_UNRESTRICTED));
    wvmcs(vcpu, VMCS_CTRL_VMENTRY_CONTROLS, cap_ctrl(HV_VMX_CAP_ENTRY, 0));
    wvmcs(vcpu, VMCS_CTRL_VMEXIT_CONTROLS, cap_ctrl(HV_VMX_CAP_EXIT, 0));
    return vcpu;
}

static void seg(hv_vcpuid_t vcpu, uint32_t sel, uint32_t base, uint32_t limit, uint32_t ar, uint64_t s, uint64_t b,
                uint64_t l, uint64_t a)
{
    wvmcs(vcpu, sel, s);
    wvmcs(vcpu, base, b);
    wvmcs(vcpu, limit, l);
    wvmcs(vcpu, ar, a);
}

#define SEG_FIELDS(R) VMCS_GUEST_##R, VMCS_GUEST_##R##_BASE, VMCS_GUEST_##R##_LIMIT, VMCS_GUEST_##R##_AR

void client_real_mode(hv_vcpuid_t vcpu, uint16_t ip)
{
    seg(vcpu, SEG_FIELDS(CS), 0, 0, REAL_LIMIT, AR_CODE16);
    seg(vcpu, SEG_FIELDS(DS), 0, 0, REAL_LIMIT, AR_DATA16);
    seg(vcpu, SEG_FIELDS(ES), 0, 0, REAL_LIMIT, AR_DATA16);
    seg(vcpu, SEG_FIELDS(SS), 0, 0, REAL_LIMIT, AR_DATA16);
    seg(vcpu, SEG_FIELDS(FS), 0, 0, REAL_LIMIT, AR_DATA16);
    seg(vcpu, SEG_FIELDS(GS), 0, 0, REAL_LIMIT, AR_DATA16);
    seg(vcpu, SEG_FIELDS(LDTR), 0, 0, REAL_LIMIT, AR_LDT);
    seg(vcpu, SEG_FIELDS(TR), 0, 0, REAL_LIMIT, AR_TSS_BUSY);
    wvmcs(vcpu, VMCS_GUEST_GDTR_BASE, 0);
    wvmcs(vcpu, VMCS_GUEST_GDTR_LIMIT, REAL_LIMIT);
    wvmcs(vcpu, VMCS_GUEST_IDTR_BASE, 0);
    wvmcs(vcpu, VMCS_GUEST_IDTR_LIMIT, REAL_LIMIT);
    wvmcs(vcpu, VMCS_GUEST_CR0, CR0_NE);
    wvmcs(vcpu, VMCS_GUEST_CR3, 0);
    wvmcs(vcpu, VMCS_GUEST_CR4, CR4_VMXE);
    wvmcs(vcpu, VMCS_GUEST_IA32_EFER, 0);
    wreg(vcpu, HV_X86_RIP, ip);
    wreg(vcpu, HV_X86_RFLAGS, RFLAGS_FIXED);
    wreg(vcpu, HV_X86_RSP, 0x7000);
}

void client_long_mode(hv_vcpuid_t vcpu, uint64_t rip, uint64_t cr3)
{
    seg(vcpu, SEG_FIELDS(CS), 0x8, 0, 0xffffffff, AR_CODE64);
    seg(vcpu, SEG_FIELDS(DS), 0x10, 0, 0xffffffff, AR_DATA64);
    seg(vcpu, SEG_FIELDS(ES), 0x10, 0, 0xffffffff, AR_DATA64);
    seg(vcpu, SEG_FIELDS(SS), 0x10, 0, 0xffffffff, AR_DATA64);
    seg(vcpu, SEG_FIELDS(FS), 0, 0, 0, AR_UNUSABLE);
    seg(vcpu, SEG_FIELDS(GS), 0, 0, 0, AR_UNUSABLE);
    seg(vcpu, SEG_FIELDS(LDTR), 0, 0, 0, AR_UNUSABLE);
    seg(vcpu, SEG_FIELDS(TR), 0, 0, TSS_LIMIT, AR_TSS_BUSY);
    wvmcs(vcpu, VMCS_GUEST_CR0, CR0_PE | CR0_NE | CR0_PG);
    wvmcs(vcpu, VMCS_GUEST_CR3, cr3);
    wvmcs(vcpu, VMCS_GUEST_CR4, CR4_PAE | CR4_VMXE);
    wvmcs(vcpu, VMCS_GUEST_IA32_EFER, EFER_LME | EFER_LMA);
    wvmcs(vcpu, VMCS_CTRL_VMENTRY_CONTROLS, cap_ctrl(HV_VMX_CAP_ENTRY, VMENTRY_GUEST_IA32E));
    wreg(vcpu, HV_X86_RIP, rip);
    wreg(vcpu, HV_X86_RFLAGS, RFLAGS_FIXED);
    wreg(vcpu, HV_X86_RSP, 0x7000);
}

uint32_t client_run(hv_vcpuid_t vcpu)
{
    hv_return_t ret = hv_vcpu_run(vcpu);
    if (ret == HV_UNSUPPORTED)
        cr_skip_test("backend %s cannot run guest code yet (hv_vcpu_run returned HV_UNSUPPORTED)",
                     anyhv_backend_name());
    cr_assert_eq(ret, HV_SUCCESS, "hv_vcpu_run failed: %#x", (unsigned)ret);
    return (uint32_t)(rvmcs(vcpu, VMCS_RO_EXIT_REASON) & 0xffff);
}

void client_skip(hv_vcpuid_t vcpu)
{
    uint64_t len = rvmcs(vcpu, VMCS_RO_VMEXIT_INSTR_LEN);
    cr_assert(len >= 1 && len <= 15, "instruction length %llu", (unsigned long long)len);
    wreg(vcpu, HV_X86_RIP, rreg(vcpu, HV_X86_RIP) + len);
}
