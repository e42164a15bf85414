#!/bin/sh
# Build weft four ways and run every test in each:
#   normal   gcc, optimised, plus the install check
#   asan     clang, AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan     gcc, ThreadSanitizer
#   aarch64  gcc cross-compiled for aarch64, the tests run under qemu-user
#            (cmake/aarch64-linux-gnu.cmake; cmocka from Debian multiarch)
# Usage: scripts/test.sh [normal|asan|tsan|aarch64 ...]   (default: all four)
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc g++ clang clang-format cmake ninja-build pkg-config libcmocka-dev

configs=${*:-normal asan tsan aarch64}
case " $configs " in
*" aarch64 "*)
	scripts/deps.sh gcc-aarch64-linux-gnu g++-aarch64-linux-gnu \
		libc6-dev-arm64-cross qemu-user libcmocka-dev:arm64 ;;
esac
jobs=$(nproc)
passed=0 failed=0
for cfg in $configs; do
	case $cfg in
	normal) cc=gcc cxx=g++ san= ;;
	asan) cc=clang cxx=clang++ san=address ;;
	tsan) cc=gcc cxx=g++ san=thread ;;
	aarch64) cc=aarch64-linux-gnu-gcc cxx=aarch64-linux-gnu-g++ san= ;;
	*) echo "unknown build: $cfg" >&2; exit 2 ;;
	esac
	dir=build/$cfg
	# Under qemu-user: no spawning of aarch64 children (no binfmt_misc:
	# test_proc, the item-60 examples, test_life (it runs weft-life);
	# test_coro_mixed skips its process
	# cases itself),
	# no host install check, the format check is the normal build's, and
	# test_future and item 57's 500 threads take minutes emulated.
	cross= skip='^$'
	if [ "$cfg" = aarch64 ]; then
		cross="-DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DWEFT_BENCH=OFF"
		skip='^(test_proc|test_install|format|test_future|example_item57|example_item60_echo|example_item60_pipelines|test_life)$'
	fi
	echo "=== $cfg build ($cc${san:+, $san sanitizer}) ==="
	# shellcheck disable=SC2086
	cmake -S . -B "$dir" -G Ninja -DCMAKE_C_COMPILER=$cc -DCMAKE_CXX_COMPILER=$cxx \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_SANITIZE=$san $cross >/dev/null
	cmake --build "$dir"
	log=$dir/ctest.log
	set +e
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		ctest --test-dir "$dir" --output-on-failure -j "$jobs" -E "$skip" 2>&1 | tee "$log"
	set -e
	p=$(grep -Eo '[0-9]+ tests failed out of [0-9]+' "$log" | awk '{print $6 - $1}')
	f=$(grep -Eo '[0-9]+ tests failed out of' "$log" | awk '{print $1}')
	if [ -z "$p" ]; then
		echo "$cfg: ctest gave no summary" >&2
		f=$((f + 1)) p=0
	fi
	passed=$((passed + p)) failed=$((failed + ${f:-1}))
done
echo "weft: $configs"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
