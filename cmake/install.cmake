# `make install PREFIX=...` (cmake --install): public headers under include/anyhv/
# (clients keep writing <Hypervisor/Hypervisor.h> and <anyhv/anyhv.h>), the two
# flavour libraries with their SONAME links, the command-line tools, a pkg-config file
# per flavour and a CMake package (anyhv::x86_64, anyhv::arm64).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/anyhv
        FILES_MATCHING PATTERN "*.h")

set(ANYHV_FLAVOUR_DEFINE_x86_64 ANYHV_GUEST_X86_64)
set(ANYHV_FLAVOUR_DEFINE_arm64 ANYHV_GUEST_ARM64)
set(ANYHV_FLAVOUR_API_x86_64 "Intel flavour")
set(ANYHV_FLAVOUR_API_arm64 "Apple-silicon flavour")
# The .pc files find the prefix from where they sit (relocatable: --prefix at install time).
file(RELATIVE_PATH PC_UP /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" PC_UP "${PC_UP}")
foreach(flavour x86_64 arm64)
  set(lib anyhv-${flavour})
  set_target_properties(${lib} PROPERTIES EXPORT_NAME ${flavour})
  target_include_directories(${lib} INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/anyhv>)
  target_compile_definitions(${lib} INTERFACE $<INSTALL_INTERFACE:${ANYHV_FLAVOUR_DEFINE_${flavour}}=1>)
  set(PC_FLAVOUR ${flavour})
  set(PC_DEFINE ${ANYHV_FLAVOUR_DEFINE_${flavour}})
  set(PC_API ${ANYHV_FLAVOUR_API_${flavour}})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/anyhv.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/${lib}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${lib}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

install(TARGETS anyhv-x86_64 anyhv-arm64 EXPORT anyhvTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT anyhvTargets NAMESPACE anyhv:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/anyhv)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/anyhvConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/anyhvConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/anyhv)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/anyhvConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/anyhvConfig.cmake ${PROJECT_BINARY_DIR}/anyhvConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/anyhv)

# The tools find their libraries through a relative RPATH once installed; anyhv-run
# runs its flavour binaries from its own directory.
set(ANYHV_TOOLS anyhv-run anyhv-run-x86_64 anyhv-run-arm64 anyhv-info-x86_64 anyhv-info-arm64)
set_target_properties(${ANYHV_TOOLS} PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
install(TARGETS ${ANYHV_TOOLS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
