#!/bin/sh
# Build and run bench_switch: weft's fiber switch vs Boost.Context's
# jump_fcontext, ping-pong, ns per switch, in the normal (sanitizer-free)
# build. Usage: bench/run-switch.sh [-n rounds] [-r reps] [--busy]
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc g++ cmake ninja-build pkg-config libcmocka-dev libboost-context-dev
cmake -S . -B build/normal -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/normal >/dev/null
exec build/normal/bench/bench_switch "$@"
