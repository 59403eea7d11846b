/* The part of the KVM backend every host builds: opening /dev/kvm and the probe
 * (core/kvm/probe.c). The rest of core/kvm/ is written for x86-64 hosts. */
#ifndef ANYHV_CORE_KVM_KVM_PROBE_H
#define ANYHV_CORE_KVM_KVM_PROBE_H

#include "core/vm.h"

/* Open /dev/kvm and check the API version; returns the fd or -1 with `why` set. */
int kvm_open_system(const char **why);

#endif /* ANYHV_CORE_KVM_KVM_PROBE_H */
