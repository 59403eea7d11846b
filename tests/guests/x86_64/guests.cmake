# x86_64 guests (paths relative to tests/guests).
# Real-mode hello: prints through the 8250 at port 0x3f8, then HLT.
anyhv_add_guest(NAME hello16 ARCH x86_64 BASE 0x10000 SOURCES x86_64/hello16.S)
