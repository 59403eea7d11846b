# Guests that fault on purpose, for anyhv-run's error-path tests.
anyhv_add_guest(NAME fault_ud ARCH x86_64 BASE 0x100000 SOURCES x86_64/fault_ud.S)
# Reads console input (record/replay test, tests/tools).
anyhv_add_guest(NAME echo ARCH x86_64 BASE 0x100000 SOURCES x86_64/echo.S)
