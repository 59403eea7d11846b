# Guests of the soft-x86 suite (tests/soft_x86): mode switches and system semantics.
anyhv_add_guest(NAME soft_modes ARCH x86_64 BASE 0x8000 SOURCES x86_64/soft_modes.S)
