# avx2calc: AVX2/FMA/BMI2/F16C code as compilers emit it, run by anyhv-run on the demo
# platform; tests/soft_x86 compares its output with the same source built as a
# freestanding Linux program.
set(ANYHV_AVX2CALC_CFLAGS -mavx2 -mfma -mbmi2 -mlzcnt -mf16c -fno-math-errno CACHE INTERNAL
    "avx2calc flags shared by guest and oracle")
anyhv_add_guest(NAME avx2calc ARCH x86_64 BASE 0x100000 FPSIMD
                SOURCES demo/x86_64/start.S demo/x86_64/platform.c avx2/avx2calc.c avx2/enable_guest.c
                CFLAGS ${ANYHV_AVX2CALC_CFLAGS})
