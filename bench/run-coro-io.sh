#!/bin/sh
# Build and run bench_coro_io: 500 seed pipelines from coroutines vs Python's
# Popen chains, and a coroutine awaiting a pool future vs Python's
# run_in_executor. Usage: bench/run-coro-io.sh [-q] [-n pipelines] ...
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc cmake ninja-build pkg-config libcmocka-dev openssl python3
cmake -S . -B build/normal -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/normal --target bench_coro_io >/dev/null
exec build/normal/bench/bench_coro_io "$@"
