# Sources of the Intel personality (linked into libanyhv-x86_64 only).
set(ANYHV_X86_API_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/api_vm.c
  ${CMAKE_CURRENT_LIST_DIR}/api_vcpu.c
  ${CMAKE_CURRENT_LIST_DIR}/api_vmx.c
  ${CMAKE_CURRENT_LIST_DIR}/api_clock.c
  ${CMAKE_CURRENT_LIST_DIR}/api_intr.c
  ${CMAKE_CURRENT_LIST_DIR}/intr.c
  ${CMAKE_CURRENT_LIST_DIR}/intr_snap.c
  ${CMAKE_CURRENT_LIST_DIR}/lapic.c
  ${CMAKE_CURRENT_LIST_DIR}/ioapic.c
  ${CMAKE_CURRENT_LIST_DIR}/atpic.c
  ${CMAKE_CURRENT_LIST_DIR}/regs.c
  ${CMAKE_CURRENT_LIST_DIR}/exit_vmx.c
  ${CMAKE_CURRENT_LIST_DIR}/vmcs.c
)
