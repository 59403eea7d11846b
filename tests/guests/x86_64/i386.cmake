# i386 builds of the anyhv-run guests: the same sources as x86_64 (nothing in them
# depends on the code size), run by anyhv-run in 32-bit protected mode.
anyhv_add_guest(NAME demo ARCH i386 BASE 0x100000
                SOURCES demo/x86_64/start.S demo/x86_64/platform.c demo/demo.c)
anyhv_add_guest(NAME fault_ud ARCH i386 BASE 0x100000 SOURCES x86_64/fault_ud.S)
