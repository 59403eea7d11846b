# The anyhv-run demo guest (tests/guests/demo), x86-64 build.
anyhv_add_guest(NAME demo ARCH x86_64 BASE 0x100000
                SOURCES demo/x86_64/start.S demo/x86_64/platform.c demo/demo.c)
