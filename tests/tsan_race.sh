#!/bin/sh
# Item 54 under ThreadSanitizer: the racy counter must be reported as a data
# race; the mutex and atomic counters must not be. Usage: tsan_race.sh BIN
set -u
bin=$1
out=$(TSAN_OPTIONS="halt_on_error=0 exitcode=0" "$bin" -n 20000 racy 2>&1)
if ! printf '%s\n' "$out" | grep -q "WARNING: ThreadSanitizer: data race"; then
	printf '%s\n' "$out"
	echo "FAIL: TSan did not report the racy counter" >&2
	exit 1
fi
if ! out=$(TSAN_OPTIONS="halt_on_error=1" "$bin" -n 20000 mutex atomic 2>&1) ||
	printf '%s\n' "$out" | grep -q "ThreadSanitizer"; then
	printf '%s\n' "$out"
	echo "FAIL: TSan complained about the mutex or atomic counter" >&2
	exit 1
fi
printf '%s\n' "$out"
echo "ok: TSan reports the racy counter, not the mutex or atomic ones"
