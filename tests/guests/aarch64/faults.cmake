# Guests that fault on purpose, for anyhv-run's error-path tests.
anyhv_add_guest(NAME fault_udf ARCH aarch64 BASE 0x40080000 SOURCES aarch64/fault_udf.S)
# The board of anyhv-run --dtb auto: DT address in x0, SEA for an unbacked address.
anyhv_add_guest(NAME board ARCH aarch64 BASE 0x40080000 SOURCES aarch64/board.S)
