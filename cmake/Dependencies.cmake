# Every dependency comes from Debian 12 packages (see scripts/install-deps.sh); the board
# build (JetPack 6, Ubuntu 22.04) finds the same names.

find_package(Protobuf REQUIRED)      # must precede ONNX: its targets name protobuf::libprotobuf
find_package(ONNX REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(Eigen3 REQUIRED NO_MODULE)
find_package(Boost 1.74 REQUIRED)    # Boost.Graph is header-only for our use
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(OpenSSL REQUIRED)       # SHA-256 of model, platform and schedule files
# Debian's dnnl-config.cmake insists on OpenCL (its GPU runtime), which the CPU backend does
# not use: find the library and header directly instead.
find_path(DNNL_INCLUDE_DIR dnnl.hpp REQUIRED)
find_library(DNNL_LIBRARY NAMES dnnl REQUIRED)
add_library(sparoa_dnnl INTERFACE)
target_include_directories(sparoa_dnnl INTERFACE ${DNNL_INCLUDE_DIR})
target_link_libraries(sparoa_dnnl INTERFACE ${DNNL_LIBRARY})
find_package(PkgConfig REQUIRED)
# libyaml (the C parser) checks every YAML file before yaml-cpp parses it (support/yaml_load.hpp).
# Found by path, not pkg-config, so that the aarch64 cross build finds the arm64 one.
find_path(SPAROA_LIBYAML_INCLUDE_DIR yaml.h REQUIRED)
find_library(SPAROA_LIBYAML_LIBRARY yaml REQUIRED)
add_library(sparoa_libyaml INTERFACE)
target_include_directories(sparoa_libyaml INTERFACE ${SPAROA_LIBYAML_INCLUDE_DIR})
target_link_libraries(sparoa_libyaml INTERFACE ${SPAROA_LIBYAML_LIBRARY})
find_package(Threads REQUIRED)

set(SPAROA_HAVE_SIMGRID OFF)
if(SPAROA_WITH_SIMGRID)
  pkg_check_modules(SIMGRID REQUIRED IMPORTED_TARGET simgrid)
  set(SPAROA_HAVE_SIMGRID ON)
endif()

# CUDA: AUTO builds the GPU backend whenever a CUDA toolkit is found and says loudly when it
# is not, so that a machine with CUDA never silently ends up without the GPU backend.
set(SPAROA_HAVE_CUDA OFF)
if(NOT SPAROA_WITH_CUDA MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "SPAROA_WITH_CUDA must be AUTO, ON or OFF, not '${SPAROA_WITH_CUDA}'")
endif()
if(NOT SPAROA_WITH_CUDA STREQUAL "OFF")
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  find_package(CUDAToolkit QUIET)
  if(CMAKE_CUDA_COMPILER AND CUDAToolkit_FOUND)
    # Orin (sm_87) and H100/H200 (sm_90) unless the user chose (-DCMAKE_CUDA_ARCHITECTURES=...);
    # set before enable_language, which would otherwise fill in the compiler's own default.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
      set(CMAKE_CUDA_ARCHITECTURES "87;90" CACHE STRING "CUDA architectures (sm_87: Orin, sm_90: H100/H200)")
    endif()
    enable_language(CUDA)
    find_path(CUDNN_INCLUDE_DIR cudnn_version.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/include)
    find_library(CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib
                 /usr/local/cuda/lib /usr/local/cuda/lib64 /usr/lib/aarch64-linux-gnu)
    if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
      message(FATAL_ERROR "CUDA ${CUDAToolkit_VERSION} found but cuDNN not (cudnn_version.h / libcudnn): "
                          "install cuDNN 9 or configure with -DSPAROA_WITH_CUDA=OFF")
    endif()
    set(SPAROA_HAVE_CUDA ON)
    set(CMAKE_CUDA_STANDARD 17)  # CMake 3.22-3.25 know no CUDA20 dialect for nvcc
    message(STATUS "sparoa: CUDA ${CUDAToolkit_VERSION} (architectures ${CMAKE_CUDA_ARCHITECTURES}), cuDNN ${CUDNN_LIBRARY}")
  elseif(SPAROA_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SPAROA_WITH_CUDA=ON but no CUDA compiler/toolkit was found")
  else()
    message(WARNING "sparoa: no CUDA toolkit found: building WITHOUT the GPU backend")
  endif()
endif()
