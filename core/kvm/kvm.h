/* Private state of the KVM backend: the VM and vCPU file descriptors and the
 * memory slots mirrored from the guest-physical map. */
#ifndef ANYHV_CORE_KVM_KVM_H
#define ANYHV_CORE_KVM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/vm.h"

#define KVM_MAX_SLOTS 256u

struct kvm_slot {
    bool used;
    uint64_t gpa, size;
    uint64_t host;
    uint32_t flags;        /* KVM_MEM_READONLY */
};

struct kvm_vm {
    int sys_fd;            /* /dev/kvm */
    int vm_fd;
    int run_size;          /* mmap size of struct kvm_run */
    struct kvm_slot slots[KVM_MAX_SLOTS];
};

struct kvm_vcpu {
    int fd;
    struct kvm_run *run;
};

/* Open /dev/kvm and check the API version; returns the fd or -1 with `why` set. */
int kvm_open_system(const char **why);

/* Re-create the memory slots covering [gpa, gpa+size) from the space-0 pmap. */
hv_return_t kvm_slots_sync(struct vm *vm, uint64_t gpa, uint64_t size);

#endif /* ANYHV_CORE_KVM_KVM_H */
