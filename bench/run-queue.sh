#!/bin/sh
# Build and run bench_queue: weft's queue and mutex vs Go's buffered channel,
# Python's queue.Queue, a pthread mutex+condvar ring and pthread_mutex.
# Usage: bench/run-queue.sh [-n items] [-r reps] [--no-peers]
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc cmake ninja-build pkg-config libcmocka-dev golang-go python3
cmake -S . -B build/normal -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/normal >/dev/null
# go run needs a writable build cache: without a usable $HOME, use build/.
if [ -z "${GOCACHE:-}" ] && { [ -z "${HOME:-}" ] || [ ! -w "${HOME:-/}" ]; }; then
	export GOCACHE="$PWD/build/go-cache"
fi
exec build/normal/bench/bench_queue "$@"
