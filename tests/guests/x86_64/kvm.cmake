# Guests of the KVM route's tests (tests/kvm): mode switching, an MMIO/port device
# client, and small real-mode entry points for API tests.
anyhv_add_guest(NAME kvm_modes ARCH x86_64 BASE 0x8000 SOURCES x86_64/kvm_modes.S)
anyhv_add_guest(NAME kvm_mmio ARCH x86_64 BASE 0x8000 SOURCES x86_64/kvm_mmio.S)
anyhv_add_guest(NAME kvm_tiny ARCH x86_64 BASE 0x8000 SOURCES x86_64/kvm_tiny.S)
anyhv_add_guest(NAME kvm_tiny64 ARCH x86_64 BASE 0x8000 SOURCES x86_64/kvm_tiny64.S)
