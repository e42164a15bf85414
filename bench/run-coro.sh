#!/bin/sh
# Build and run bench_coro: weft's coroutines (switch, create + join,
# skynet on 2 threads and 1, resident memory per suspended coroutine)
# against Boost.Fiber / Boost.Context, Go and Python's asyncio, each
# figure the median of -r runs (3), every run in a fresh process.
# Usage: bench/run-coro.sh [-r reps] [-v] [--busy] [--no-peers]
#          [--only switch|create|skynet|rss] [--switch N] [--create N]
#          [--skynet LEAVES] [--rss N] [--guarded N]
#          [--skynet-stack BYTES] [--rss-stack BYTES]
# Quick check: bench/run-coro.sh -r 1 --switch 100000 --create 100000 \
#                --skynet 10000 --rss 10000 --guarded 1000
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc g++ cmake ninja-build pkg-config libcmocka-dev python3 \
	golang-go libboost-context-dev libboost-fiber-dev
cmake -S . -B build/normal -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# bench/all: bench_coro and whichever peers CMake could build
cmake --build build/normal --target bench/all >/dev/null
exec build/normal/bench/bench_coro "$@"
