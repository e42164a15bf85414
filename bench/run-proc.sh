#!/bin/sh
# Build and run bench_proc: weft vs raw posix_spawn and Python subprocess.
# Usage: bench/run-proc.sh [-q]
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc cmake ninja-build pkg-config libcmocka-dev openssl python3
cmake -S . -B build/normal -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/normal >/dev/null
exec build/normal/bench/bench_proc "$@"
