# Installable CMake package: find_package(hl) gives hl::hl, the one target an embedding
# product links (docs/embedding.md): the public header <hl/highlights.h> and, through
# it, every library and dependency hl needs. The layers' own targets (hl::kernels,
# hl::engine, hl::weights, hl::nets, hl::pipeline: static libraries) and their headers
# under include/hl/<layer>/ stay available for code that works on hl's internals.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# hl::hl: the public API's header folder (include/) and the libraries behind it.
target_include_directories(hl_pipeline PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
add_library(hl_hl INTERFACE)
add_library(hl::hl ALIAS hl_hl)
set_target_properties(hl_hl PROPERTIES EXPORT_NAME hl)
target_include_directories(hl_hl INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(hl_hl INTERFACE hl_pipeline)
install(FILES ${PROJECT_SOURCE_DIR}/include/hl/highlights.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hl)

foreach(lib hl_engine hl_weights hl_nets hl_pipeline)
  target_include_directories(${lib} PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/hl>)
endforeach()

install(TARGETS hl_hl hl_kernels hl_engine hl_weights hl_nets hl_pipeline EXPORT hlTargets
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
