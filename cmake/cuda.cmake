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
