# aarch64 guests (paths relative to tests/guests).
# Hello in freestanding C: PL011 UART writes (MMIO exits), then HVC #0.
anyhv_add_guest(NAME hello ARCH aarch64 BASE 0x40000000 SOURCES aarch64/start.S aarch64/hello.c)
