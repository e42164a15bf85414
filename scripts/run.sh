#!/bin/sh
# Build weft and run the main program. Until weft-life exists that is the
# chapter's item 52 example: three openssl pipelines, chained and checked.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc cmake ninja-build pkg-config libcmocka-dev openssl
cmake -S . -B build/normal -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/normal >/dev/null
exec build/normal/examples/item52_subprocess "$@"
