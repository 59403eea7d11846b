# The anyhv-run demo guest (tests/guests/demo), AArch64 build.
anyhv_add_guest(NAME demo ARCH aarch64 BASE 0x40080000
                SOURCES demo/aarch64/start.S demo/aarch64/platform.c demo/demo.c)
