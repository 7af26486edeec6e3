# Installable CMake package: find_package(hl) gives hl::kernels, hl::engine,
# hl::weights, hl::nets and hl::pipeline (static libraries) and the headers under include/hl.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(lib hl_engine hl_weights hl_nets hl_pipeline)
  target_include_directories(${lib} PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/hl>)
endforeach()

install(TARGETS hl_kernels hl_engine hl_weights hl_nets hl_pipeline EXPORT hlTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(dir kernels engine weights nets pipeline)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hl/${dir}
    FILES_MATCHING PATTERN "*.h")
endforeach()
install(EXPORT hlTargets NAMESPACE hl:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hl)

set(HL_INSTALLED_WITH_CUDA ${HL_CUDA_ENABLED})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hlConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hlConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hl)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hlConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hlConfig.cmake ${PROJECT_BINARY_DIR}/hlConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hl)
