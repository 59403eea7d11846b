# Guests that fault on purpose, for anyhv-run's error-path tests.
anyhv_add_guest(NAME fault_udf ARCH aarch64 BASE 0x40080000 SOURCES aarch64/fault_udf.S)
