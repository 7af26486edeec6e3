# Decides whether the CUDA backend is built (HL_CUDA = AUTO | ON | OFF) and finds the
# CUDA libraries. Sets HL_CUDA_ENABLED and, when enabled, the imported target hl_cudnn.
set(HL_CUDA_ENABLED OFF)
string(TOUPPER "${HL_CUDA}" _hl_cuda)
if(_hl_cuda STREQUAL "AUTO")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(HL_CUDA_ENABLED ON)
  endif()
elseif(_hl_cuda STREQUAL "ON")
  set(HL_CUDA_ENABLED ON)
elseif(NOT _hl_cuda STREQUAL "OFF")
  message(FATAL_ERROR "HL_CUDA must be AUTO, ON or OFF (got '${HL_CUDA}')")
endif()

if(HL_CUDA_ENABLED)
  # Hopper (H100/H200) by default; override with -DCMAKE_CUDA_ARCHITECTURES=...
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  enable_language(CUDA)
  if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    # CMake 3.25 (Debian 12) does not know nvcc's C++20 flag and would refuse C++20 for
    # the CUDA sources (it follows CXX_STANDARD); nvcc >= 12 understands it.
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
  # cuDNN: the toolkit's copy, or a PyPI wheel's folder given as -DCUDNN_ROOT=...
  find_path(CUDNN_INCLUDE_DIR cudnn.h
    HINTS ${CUDNN_ROOT} ENV CUDNN_ROOT ${CUDAToolkit_INCLUDE_DIRS}
    PATH_SUFFIXES include)
  find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9
    HINTS ${CUDNN_ROOT} ENV CUDNN_ROOT ${CUDAToolkit_LIBRARY_DIR}
    PATH_SUFFIXES lib lib64)
  if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
    message(FATAL_ERROR "cuDNN not found: pass -DCUDNN_ROOT=<folder with include/cudnn.h and lib/libcudnn.so*>")
  endif()
  add_library(hl_cudnn INTERFACE IMPORTED)
  target_include_directories(hl_cudnn INTERFACE ${CUDNN_INCLUDE_DIR})
  target_link_libraries(hl_cudnn INTERFACE ${CUDNN_LIBRARY})
endif()

# For a library that is opened with dlopen instead of linked (kernels/cuda/lazy_libraries.cpp):
# <prefix>_SONAME, the name the dynamic linker would look for (the file the unversioned
# libX.so link points to, by the usual libX.so -> libX.so.N convention, else the file's
# own name), and <prefix>_PATH, that file in the folder CMake found it in.
function(hl_library_soname prefix library)
  get_filename_component(_dir "${library}" DIRECTORY)
  set(_file "${library}")
  if(IS_SYMLINK "${library}")
    file(READ_SYMLINK "${library}" _target)
    if(NOT IS_ABSOLUTE "${_target}")
      set(_target "${_dir}/${_target}")
    endif()
    set(_file "${_target}")
  endif()
  get_filename_component(_name "${_file}" NAME)
  set(${prefix}_SONAME "${_name}" PARENT_SCOPE)
  set(${prefix}_PATH "${_file}" PARENT_SCOPE)
endfunction()
