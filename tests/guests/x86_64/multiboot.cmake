# A Multiboot (v1) bare-metal image for anyhv-run's PC machine (--kernel).
anyhv_add_guest(NAME multiboot ARCH i386 BASE 0x100000 SOURCES x86_64/multiboot.S)
# Lives on the PIT and HLT (tools_pit_det_*: deterministic PC devices).
anyhv_add_guest(NAME pit_hlt ARCH i386 BASE 0x100000 SOURCES x86_64/pit_hlt.S)
