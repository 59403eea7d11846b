/* anyhv-run, Intel flavour: the CPUID model and MSR answers (x86_cpu.c), and the
 * guest-memory access a VMM needs to emulate MMIO (x86_mmio.c). */
#ifndef ANYHV_TOOLS_X86_CPU_H
#define ANYHV_TOOLS_X86_CPU_H

#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <anyhv/anyhv.h>

#include <stdbool.h>
#include <stdint.h>

#define X86CPU_VECTOR_GP 13u
#define X86CPU_MSR_PAT 0x277u
#define X86CPU_MSR_MISC_ENABLE 0x1a0u

/* Where the guest's CPUID comes from (--cpuid; x86_cpuid_vmm.c, docs/anyhv-run.md). */
enum x86cpu_cpuid_mode {
    X86CPU_CPUID_MODEL,   /* anyhv's model plus this VMM's platform bits */
    X86CPU_CPUID_HOST,    /* the host's, as a VMM passes it through, ANDed with the model */
};
/* CPUID leaf/subleaf for the vCPU whose APIC id is apic_id: EAX, EBX, ECX, EDX. */
void x86cpu_cpuid(hv_vcpuid_t vcpu, enum x86cpu_cpuid_mode mode, uint32_t leaf, uint32_t sub, uint32_t apic_id,
                  uint32_t out[4]);
/* Exits: answer and step over the instruction (or inject #GP). */
void x86cpu_handle_cpuid(hv_vcpuid_t vcpu, enum x86cpu_cpuid_mode mode, uint32_t apic_id);
void x86cpu_xsetbv(hv_vcpuid_t vcpu);
void x86cpu_rdmsr(hv_vcpuid_t vcpu);
void x86cpu_wrmsr(hv_vcpuid_t vcpu);
/* Let the guest use the MSRs the library keeps without exits. */
void x86cpu_native_msrs(hv_vcpuid_t vcpu);
void x86cpu_skip(hv_vcpuid_t vcpu);
/* IA32_TSC_ADJUST exits, with the VMM's per-CPU copy of the register. */
#define X86CPU_MSR_TSC_ADJUST 0x3bu
void x86cpu_tsc_adjust_read(hv_vcpuid_t vcpu, const uint64_t *adjust);
void x86cpu_tsc_adjust_write(hv_vcpuid_t vcpu, uint64_t *adjust);
void x86cpu_inject_gp(hv_vcpuid_t vcpu);

#define X86_MMIO_HIGH8 0x100u

/* A decoded MMIO instruction: a MOV between a register (or an immediate) and memory. */
struct x86_mmio_insn {
    unsigned len;       /* instruction length */
    unsigned size;      /* access size in bytes: 1, 2, 4, 8 */
    bool write;         /* to memory */
    bool has_imm;
    uint64_t imm;
    unsigned reg;       /* hv_x86_reg_t of the register operand, | X86_MMIO_HIGH8 for AH..BH */
    bool zero_extend;   /* MOVZX forms (loads) */
};

/* Fetch and decode the instruction at the vCPU's RIP (guest-virtual, through the
 * guest's 4-level page tables when paging is on). False when it is not one of the
 * forms decoded here: MOV r/m,r; MOV r,r/m; MOV r/m,imm; MOVZX r,r/m8/16. */
bool x86_mmio_decode(hv_vcpuid_t vcpu, const uint8_t *ram, uint64_t ram_size, struct x86_mmio_insn *out);
/* Complete a decoded load with the value read (register written with x86 width rules). */
void x86_mmio_complete_load(hv_vcpuid_t vcpu, const struct x86_mmio_insn *in, uint64_t value);
/* The value a decoded store writes. */
uint64_t x86_mmio_store_value(hv_vcpuid_t vcpu, const struct x86_mmio_insn *in);

#endif /* ANYHV_TOOLS_X86_CPU_H */
