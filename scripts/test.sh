#!/bin/sh
# Build weft three ways and run every test in each:
#   normal   gcc, optimised, plus the install check
#   asan     clang, AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan     gcc, ThreadSanitizer
# Usage: scripts/test.sh [normal|asan|tsan ...]   (default: all three)
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc g++ clang clang-format cmake ninja-build pkg-config libcmocka-dev

configs=${*:-normal asan tsan}
jobs=$(nproc)
passed=0 failed=0
for cfg in $configs; do
	case $cfg in
	normal) cc=gcc cxx=g++ san= ;;
	asan) cc=clang cxx=clang++ san=address ;;
	tsan) cc=gcc cxx=g++ san=thread ;;
	*) echo "unknown build: $cfg" >&2; exit 2 ;;
	esac
	dir=build/$cfg
	echo "=== $cfg build ($cc${san:+, $san sanitizer}) ==="
	cmake -S . -B "$dir" -G Ninja -DCMAKE_C_COMPILER=$cc -DCMAKE_CXX_COMPILER=$cxx \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_SANITIZE=$san >/dev/null
	cmake --build "$dir"
	log=$dir/ctest.log
	set +e
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		ctest --test-dir "$dir" --output-on-failure -j "$jobs" 2>&1 | tee "$log"
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
