#!/bin/sh
# Fails, naming the files, when any C file differs from what clang-format
# makes of it. Fix with: clang-format -i <files>
set -eu
cf=${1:-clang-format}
files=$(git ls-files '*.c' '*.h' '*.cpp' 2>/dev/null || find src include tests examples bench tools -name '*.[ch]')
bad=
for f in $files; do
	"$cf" --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
	echo "not formatted:$bad"
	exit 1
fi
echo "formatted: $(echo "$files" | wc -w) files"
