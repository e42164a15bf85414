#!/bin/sh
# Install the build into a scratch prefix, then build and run a small program
# against the installed copy twice: with pkg-config (shared and static) and
# with CMake's find_package(weft).
set -eu
build=$1 work=$2 cc=$3
src=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig:$prefix/lib64/pkgconfig"
libdir=$(realpath "$(pkg-config --variable=libdir weft)")

# pkg-config, shared library
"$cc" -std=c11 -Wall -Werror -o "$work/hello-pc" "$src/hello.c" \
	$(pkg-config --cflags --libs weft)
LD_LIBRARY_PATH=$libdir "$work/hello-pc"
# the shared build must really be the one used
LD_LIBRARY_PATH=$libdir ldd "$work/hello-pc" | grep -q "$libdir/libweft.so"

# pkg-config, static library
"$cc" -std=c11 -Wall -Werror -o "$work/hello-static" "$src/hello.c" \
	$(pkg-config --cflags weft) "$libdir/libweft.a" -pthread
"$work/hello-static"
! ldd "$work/hello-static" | grep -q libweft

# CMake package
cmake -S "$src" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
LD_LIBRARY_PATH=$libdir "$work/cmake-build/hello"
"$work/cmake-build/hello_static"
echo "install check: pkg-config (shared, static) and find_package: ok"
