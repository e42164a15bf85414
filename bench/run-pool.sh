#!/bin/sh
# Build and run bench_pool: weft's pool vs a mutex+condvar pool, GLib
# GThreadPool, libuv uv_queue_work, Go goroutines and Python's
# ThreadPoolExecutor. Usage: bench/run-pool.sh [-n tasks] [-r reps] ...
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc cmake ninja-build pkg-config libcmocka-dev python3 \
	golang-go libglib2.0-dev libuv1-dev
cmake -S . -B build/normal -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/normal >/dev/null
exec build/normal/bench/bench_pool "$@"
