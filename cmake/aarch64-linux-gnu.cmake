# Cross build for aarch64 with Debian's cross toolchain; ctest runs the
# programs under qemu-user. Packages: gcc-aarch64-linux-gnu,
# g++-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user, and cmocka for
# arm64 through multiarch (dpkg --add-architecture arm64;
# libcmocka-dev:arm64), all installed by scripts/test.sh aarch64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config finds the arm64 cmocka of multiarch; its header is the
# architecture-independent /usr/include/cmocka.h, which the cross compiler
# does not search: -idirafter adds /usr/include behind the arm64 headers.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
set(CMAKE_C_FLAGS_INIT "-idirafter /usr/include")
# The arm64 libraries of multiarch, for the cross linker and at run time.
set(CMAKE_EXE_LINKER_FLAGS_INIT
  "-L/usr/lib/aarch64-linux-gnu -Wl,-rpath-link,/usr/lib/aarch64-linux-gnu")

# qemu-user with the cross toolchain's loader and libc. LD_LIBRARY_PATH
# keeps the libc that loader finds the one built with it: otherwise the
# loader's search reaches multiarch's libc6:arm64 (a different build of
# 2.36, pulled in by libcmocka0:arm64), and a mismatched ld.so/libc pair
# hangs in every fork()ed child.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu
  -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
