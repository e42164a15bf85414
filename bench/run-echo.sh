#!/bin/sh
# Build and run bench_echo: a TCP echo server on weft coroutines (1 and 2
# loops) vs libuv, Go (GOMAXPROCS=1 and default) and Python asyncio
# (Protocol), all driven by the same epoll client.
# Usage: bench/run-echo.sh [-q] [-c conns] [-t seconds] [-r rounds] ...
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc cmake ninja-build pkg-config libcmocka-dev libuv1-dev \
	golang-go python3
cmake -S . -B build/normal -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/normal --target bench_echo >/dev/null
exec build/normal/bench/bench_echo "$@"
