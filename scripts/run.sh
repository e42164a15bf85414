#!/bin/sh
# Build weft and run the main program, weft-life (the chapter's Game of
# Life): with no arguments, the book's glider in columns, then every model
# timed. Arguments go to weft-life (try --help).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc cmake ninja-build pkg-config libcmocka-dev openssl
cmake -S . -B build/normal -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/normal >/dev/null
exec build/normal/tools/weft-life/weft-life "$@"
