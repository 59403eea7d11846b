# Sources of the Apple-silicon personality (linked into libanyhv-arm64 only).
set(ANYHV_ARM64_API_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/api_config.c
  ${CMAKE_CURRENT_LIST_DIR}/api_vm.c
  ${CMAKE_CURRENT_LIST_DIR}/api_vcpu.c
  ${CMAKE_CURRENT_LIST_DIR}/api_gic.c
  ${CMAKE_CURRENT_LIST_DIR}/api_gic_regs.c
  ${CMAKE_CURRENT_LIST_DIR}/api_sme.c
  ${CMAKE_CURRENT_LIST_DIR}/gic_dist.c
  ${CMAKE_CURRENT_LIST_DIR}/gic_redist.c
  ${CMAKE_CURRENT_LIST_DIR}/gic_cpuif.c
  ${CMAKE_CURRENT_LIST_DIR}/gic_msi.c
  ${CMAKE_CURRENT_LIST_DIR}/gic_state.c
  ${CMAKE_CURRENT_LIST_DIR}/gic_snap.c
  ${CMAKE_CURRENT_LIST_DIR}/sysregs.c
  ${CMAKE_CURRENT_LIST_DIR}/features.c
  ${CMAKE_CURRENT_LIST_DIR}/exit_esr.c
)
