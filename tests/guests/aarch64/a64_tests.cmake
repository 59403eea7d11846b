# aarch64 guests of the arm64 soft-CPU tests (tests/arm64).
anyhv_add_guest(NAME exits ARCH aarch64 BASE 0x40000000 SOURCES aarch64/exits.S)
anyhv_add_guest(NAME smp_race ARCH aarch64 BASE 0x40000000 SOURCES aarch64/smp_race.S)
anyhv_add_guest(NAME clock_leak ARCH aarch64 BASE 0x40080000 SOURCES aarch64/clock_leak.S)
anyhv_add_guest(NAME exceptions ARCH aarch64 BASE 0x40000000 SOURCES aarch64/exceptions.S)
# Compiled with FP/SIMD allowed: vectorized loops checked against scalar ones.
anyhv_add_guest(NAME simd ARCH aarch64 BASE 0x40000000 SOURCES aarch64/simd_start.S aarch64/simd.c FPSIMD)
anyhv_add_guest(NAME gic ARCH aarch64 BASE 0x40000000 SOURCES aarch64/gic.S)
anyhv_add_guest(NAME gic_ipi ARCH aarch64 BASE 0x40000000 SOURCES aarch64/gic_ipi.S)
anyhv_add_guest(NAME rr_device ARCH aarch64 BASE 0x40000000 SOURCES aarch64/rr_device.S)
anyhv_add_guest(NAME echo ARCH aarch64 BASE 0x40080000 SOURCES aarch64/echo.S)
anyhv_add_guest(NAME smp_stress ARCH aarch64 BASE 0x40000000 SOURCES aarch64/smp_stress.S)
anyhv_add_guest(NAME wfi_timer ARCH aarch64 BASE 0x40080000 SOURCES aarch64/wfi_timer.S)
# The EL1 physical timer through the VMM's CNTP registers (tools_ptimer_arm64_soft).
anyhv_add_guest(NAME ptimer ARCH aarch64 BASE 0x40080000 SOURCES aarch64/ptimer.S)
# Two vCPUs on the board through PSCI, WFI/WFE and CPU_OFF (tools_snapshot_arm64_smp2_soft).
anyhv_add_guest(NAME smp_snap ARCH aarch64 BASE 0x40080000 SOURCES aarch64/smp_snap.S)
