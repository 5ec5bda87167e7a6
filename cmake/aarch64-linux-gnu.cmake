# Toolchain for the board build cross-compiled on a Debian 12 amd64 machine (see
# scripts/cross-aarch64.sh): Debian's aarch64 cross compiler, and the arm64 -dev packages
# unpacked (not installed) into the folder named by the SPAROA_AARCH64_SYSROOT environment
# variable. The C library and libgomp come with the cross compiler (/usr/aarch64-linux-gnu).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
if(NOT DEFINED ENV{SPAROA_AARCH64_SYSROOT})
  message(FATAL_ERROR "set SPAROA_AARCH64_SYSROOT to the folder holding the unpacked arm64 packages (scripts/cross-aarch64.sh does)")
endif()
set(_sysroot $ENV{SPAROA_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH ${_sysroot} /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # protoc, git, python: the build machine's
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Debian's multiarch headers (opensslconf.h, dnnl_config.h...) sit in include/aarch64-linux-gnu.
set(CMAKE_C_FLAGS_INIT "-isystem ${_sysroot}/usr/include/aarch64-linux-gnu")
set(CMAKE_CXX_FLAGS_INIT "-isystem ${_sysroot}/usr/include/aarch64-linux-gnu")
# The unpacked libraries' own dependencies (protobuf's zlib, oneDNN's libgomp) are found at
# link time through rpath-link; nothing runs here, so no emulator is needed.
# (zlib sits in /lib, not /usr/lib, in Debian 12's packages).
set(_rpath_link "-Wl,-rpath-link,${_sysroot}/usr/lib/aarch64-linux-gnu -Wl,-rpath-link,${_sysroot}/lib/aarch64-linux-gnu")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_rpath_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_rpath_link}")
