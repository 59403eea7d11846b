/* Test client for the Intel API's run path, as a Hypervisor.framework VMM writes
 * it: guest RAM mapped at 0, images loaded from ANYHV_GUEST_DIR, real-mode and
 * long-mode vCPU setup through registers and VMCS fields, control values built with
 * the (want | allowed0) & allowed1 idiom, and helpers that fail the test on error. */
#ifndef ANYHV_TESTS_KVM_CLIENT_H
#define ANYHV_TESTS_KVM_CLIENT_H

#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLIENT_RAM_SIZE (4u << 20)
#define CLIENT_LOAD_ADDR 0x8000u

struct client {
    uint8_t *ram;
    hv_vcpuid_t vcpu;
    bool vcpu_live;
};

/* Skip unless the backend ctest asked for exists; create the VM, map RAM (RWX at 0)
 * and load guest `image` (x86_64/<image>.bin) at CLIENT_LOAD_ADDR. */
void client_vm_init(struct client *c, const char *image);
void client_vm_fini(struct client *c);
/* Address of `symbol` in x86_64/<image>.elf (the test fails when missing). */
uint64_t client_symbol(const char *image, const char *symbol);

/* Entry points of tests/guests/x86_64/kvm_tiny.S (loaded at 0x8000). */
enum tiny_entry {
    TINY_HLT = 0x8000, TINY_SPIN = 0x8010, TINY_RDMSR = 0x8020, TINY_IRQ_WINDOW = 0x8030,
    TINY_IRQ_HANDLER = 0x8040,
};

/* The common fixture: kvm_tiny loaded, one live vCPU in real mode at TINY_HLT. */
void client_tiny_start(struct client *c);

/* vCPU of the calling thread, with HLT exiting on (through the capability idiom). */
hv_vcpuid_t client_vcpu_create(void);
void client_real_mode(hv_vcpuid_t vcpu, uint16_t ip);
void client_long_mode(hv_vcpuid_t vcpu, uint64_t rip, uint64_t cr3);

/* hv_vcpu_run; skips the test (with the reason) when the backend cannot run guest
 * code yet (HV_UNSUPPORTED), fails it on any other error. Returns the exit reason. */
uint32_t client_run(hv_vcpuid_t vcpu);

/* True when the backend is a KVM that emulates guest kernel code (no VT-x/SVM
 * flags, e.g. PVM): some cases then hit limits of the host's KVM, not anyhv's. */
bool client_kvm_emulated(void);

uint64_t rreg(hv_vcpuid_t vcpu, hv_x86_reg_t reg);
void wreg(hv_vcpuid_t vcpu, hv_x86_reg_t reg, uint64_t value);
uint64_t rvmcs(hv_vcpuid_t vcpu, uint32_t field);
void wvmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t value);
/* (want | allowed0) & allowed1 for capability `cap`. */
uint64_t cap_ctrl(hv_vmx_capability_t cap, uint64_t want);
/* RIP += VMCS_RO_VMEXIT_INSTR_LEN: the client retires the instruction. */
void client_skip(hv_vcpuid_t vcpu);

#endif /* ANYHV_TESTS_KVM_CLIENT_H */
