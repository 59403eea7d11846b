# x87calc: long double math (and float/double on the x87 in the i386 build) for the
# soft route's x87, run by anyhv-run on the demo platform; tests/soft_x86 compares
# its output with the same source built as a freestanding Linux program.
set(ANYHV_X87CALC_CFLAGS -fno-math-errno CACHE INTERNAL "x87calc flags shared by guest and oracle")
set(ANYHV_X87CALC_I386_CFLAGS -mno-sse -march=i686 CACHE INTERNAL "x87calc i386: float/double on the x87")
anyhv_add_guest(NAME x87calc ARCH x86_64 BASE 0x100000 FPSIMD
                SOURCES demo/x86_64/start.S demo/x86_64/platform.c x87/x87calc.c
                CFLAGS ${ANYHV_X87CALC_CFLAGS})
anyhv_add_guest(NAME x87calc ARCH i386 BASE 0x100000 FPSIMD
                SOURCES demo/x86_64/start.S demo/x86_64/platform.c x87/x87calc.c
                CFLAGS ${ANYHV_X87CALC_CFLAGS} ${ANYHV_X87CALC_I386_CFLAGS})
