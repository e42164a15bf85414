#!/bin/sh
# weft-life's tests: run the built program and check what it prints.
#   run.sh WEFT_LIFE LIFE_PTY DATA_DIR
# Small grids and no (or 100 us of) I/O: fast in the sanitizer builds too.
# No timing is asserted anywhere.
set -u
life=$1 pty=$2 data=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
models="serial threads queue pool coro"

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# The column view: everything before the first empty line.
columns() {
	sed '/^$/,$d'
}

# 1. The default run: its column view is the book's (item 60's program
#    output for the glider, from running Better way60_3.py with python3).
"$life" >"$tmp/default.out" 2>"$tmp/default.err" || fail "default run: exit $?"
sed -n '3,8p' "$tmp/default.out" >"$tmp/default.cols"
cmp -s "$tmp/default.cols" "$data/expected/book.txt" ||
	fail "default run: the column view is not the book's: $(diff "$data/expected/book.txt" "$tmp/default.cols")"
grep -q "all five models computed the same grids" "$tmp/default.out" ||
	fail "default run: the models disagree on the glider"
for m in $models; do
	grep -q "^$m " "$tmp/default.out" || fail "default run: no table row for $m"
done
grep -q "^serial .*estimated" "$tmp/default.out" ||
	fail "default run: serial not labelled estimated"

# 2. Every model: the book's glider, blinkers across both edges (plain
#    .cells and RLE), a block, and a glider crossing both edges of a 5x5
#    torus back to where it started (20 generations).
for m in $models; do
	"$life" --model "$m" --generations 4 >"$tmp/o" 2>&1 || fail "$m book glider: exit $?"
	columns <"$tmp/o" | cmp -s - "$data/expected/book.txt" ||
		fail "$m: the book's glider differs"
	for f in blinker_edge.cells blinker_edge.rle block.txt; do
		"$life" --model "$m" --load "$data/$f" --generations 2 >"$tmp/o" 2>&1 ||
			fail "$m $f: exit $?"
		columns <"$tmp/o" | cmp -s - "$data/expected/$f.txt" ||
			fail "$m $f: $(columns <"$tmp/o" | diff "$data/expected/$f.txt" -)"
	done
	"$life" --model "$m" --load "$data/glider5.txt" --generations 20 >"$tmp/o" 2>&1 ||
		fail "$m glider5: exit $?"
	columns <"$tmp/o" | cmp -s - "$data/expected/glider5.txt.txt" ||
		fail "$m glider5 (both wraps): differs"
done
# The 5x5 glider's expected view itself: generation 20 is generation 0,
# generation 10 is not (it moved, across both edges).
first=$(sed 1d "$data/expected/glider5.txt.txt" | cut -c1-5)
last=$(sed 1d "$data/expected/glider5.txt.txt" | rev | cut -c1-5 | rev)
mid=$(sed 1d "$data/expected/glider5.txt.txt" | cut -c81-85)
[ "$first" = "$last" ] || fail "glider5: generation 20 is not generation 0"
[ "$first" != "$mid" ] || fail "glider5: the glider did not move"

# 3. --check: every model reaches the same grids from random starts.
for seed in 1 2 3; do
	"$life" --check --seed $seed --size 12x17 --generations 6 --workers 3 \
		>"$tmp/o" 2>&1 || fail "--check seed $seed: exit $?: $(cat "$tmp/o")"
	grep -q "check: 5 models agree on 6 generations" "$tmp/o" ||
		fail "--check seed $seed: no agreement line"
done
"$life" --check --seed 7 --size 6x7 --generations 2 --io sleep:100us \
	--loops 2 >"$tmp/o" 2>&1 || fail "--check with sleep I/O: exit $?"
"$life" --check --seed 5 --size 5x6 --generations 2 --io tcp \
	>"$tmp/o" 2>&1 || fail "--check with --io tcp: exit $?: $(cat "$tmp/o")"
grep -q "check: 5 models agree on 2 generations" "$tmp/o" ||
	fail "--check with --io tcp: no agreement line"
"$life" --check --seed 9 --size 30x3 --generations 3 --json >"$tmp/o" 2>&1 ||
	fail "--check --json: exit $?"

# 4. --json: one object with the documented fields.
"$life" --json --model all --size 8x8 --generations 2 >"$tmp/j" 2>&1 || fail "--json: exit $?"
for k in '"program": "weft-life"' '"version": 1' '"rows": 8' '"cols": 8' \
	'"io": "none"' '"generations": 2' '"results": \[' '"model": "serial"' \
	'"model": "coro"' '"seconds_per_generation": ' '"speedup": ' '"ok": true'; do
	grep -q "$k" "$tmp/j" || fail "--json: no $k"
done
# "final": the SHA-256 of the book's glider after 3 generations, as
# bench/peers/life_book.py (the book's code) prints it
"$life" --json --model coro --generations 3 >"$tmp/j3" 2>&1 || fail "--json coro: exit $?"
grep -q '"final": "32b0970217afba319b340ccf6033eaef911d4ac5639cfcc715240f6d43d50f32"' \
	"$tmp/j3" || fail "--json: final digest differs: $(cat "$tmp/j3")"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["results"])==5' \
		<"$tmp/j" || fail "--json: not valid JSON"
fi
"$life" --help >"$tmp/o" 2>&1 || fail "--help: exit $?"
grep -q -- "--json" "$tmp/o" || fail "--help does not document --json"

# 5. Bad arguments and bad pattern files: exit 2, one line naming it.
printf 'x = 3, y = 3\n3o$3o$3o!\n' >"$tmp/ok.rle"
printf '..O\n.Z.\n' >"$tmp/badchar.cells"
printf 'bo$2bo$3o!\n' >"$tmp/nohdr.rle"
printf 'x = 3, y = 3, rule = B36/S23\n3o!\n' >"$tmp/rule.rle"
printf 'x = 2, y = 2\n3o!\n' >"$tmp/wide.rle"
printf 'x = 3, y = 3\n3o$3o\n' >"$tmp/noend.rle"
printf 'x = 3, y = 3\n3o$q!\n' >"$tmp/junk.rle"
printf '' >"$tmp/empty.cells"
printf '!only a comment\n' >"$tmp/comment.cells"
printf 'O\000O\n' >"$tmp/binary.cells"
printf 'x = 99999, y = 3\n!\n' >"$tmp/huge.rle"
bad() {
	want=$1
	shift
	"$life" "$@" >"$tmp/o" 2>"$tmp/e"
	rc=$?
	[ $rc -eq 2 ] || fail "'$*': exit $rc, not 2"
	[ "$(wc -l <"$tmp/e")" -eq 1 ] || fail "'$*': not one line: $(cat "$tmp/e")"
	grep -q -- "$want" "$tmp/e" || fail "'$*': message does not name '$want': $(cat "$tmp/e")"
}
bad "--model 'fast'" --model fast
bad "--size 'big'" --size big
bad "--size '0x5'" --size 0x5
bad "--size '5x5x5'" --size 5x5x5
bad "more than 1000000" --size 2000x2000
bad "--generations '0'" --generations 0
bad "--generations '-3'" --generations -3
bad "--generations 'ten'" --generations=ten
bad "--generations needs a value" --generations
bad "--io 'sleep:fast'" --io sleep:fast
bad "--io 'sleep:-1ms'" --io sleep:-1ms
bad "--io 'disk'" --io disk
bad "--workers '0'" --workers 0
bad "--loops 'x'" --loops x
bad "--seed 'abc'" --seed abc
bad "--server 'nowhere'" --io tcp --server nowhere
bad "--server needs --io tcp" --io none --server 127.0.0.1:1
bad "unknown option '--frobnicate'" --frobnicate
bad "unexpected argument 'glider'" glider
bad "--check takes no value" --check=yes
bad "--load and --seed" --load "$tmp/ok.rle" --seed 1
bad "nonexistent.cells: No such file" --load "$tmp/nonexistent.cells"
bad "badchar.cells:2: unexpected 'Z'" --load "$tmp/badchar.cells"
bad "nohdr.rle:1: expected the RLE header" --load "$tmp/nohdr.rle"
bad "rule B36/S23 is not Conway's" --load "$tmp/rule.rle"
bad "wide.rle:2: cell outside" --load "$tmp/wide.rle"
bad "noend.rle: RLE data does not end" --load "$tmp/noend.rle"
bad "junk.rle:2: unexpected 'q'" --load "$tmp/junk.rle"
bad "empty.cells: no cells" --load "$tmp/empty.cells"
bad "comment.cells: no cells" --load "$tmp/comment.cells"
bad "binary.cells: not a text file" --load "$tmp/binary.cells"
bad "huge.rle:1: size 99999x3 out of range" --load "$tmp/huge.rle"
bad "does not fit in --size 2x2" --load "$tmp/ok.rle" --size 2x2
# a good RLE file in a larger --size is placed top-left
"$life" --model serial --load "$tmp/ok.rle" --size 4x5 --generations 1 >"$tmp/o" 2>&1 ||
	fail "ok.rle in 4x5: exit $?"
sed -n 2p "$tmp/o" | grep -q '^\*\*\*-- | ' || fail "ok.rle in 4x5: not top-left: $(cat "$tmp/o")"

# 6. --watch on a terminal: a clear+home and a title per frame.
"$pty" "$life" --watch --model queue --load "$data/blinker_edge.rle" \
	--generations 3 >"$tmp/w" 2>&1 || fail "--watch: exit $?"
frames=$(grep -c "$(printf '\033\\[H\033\\[2J')weft-life: generation" "$tmp/w")
[ "$frames" -eq 4 ] || fail "--watch: $frames frames, not 4: $(od -c "$tmp/w" | head -20)"
for g in 0 1 2 3; do
	grep -q "generation $g (queue model, 5x5)" "$tmp/w" || fail "--watch: no frame $g"
done
grep -q -- "-\*\*\*-" "$tmp/w" || fail "--watch: the blinker's horizontal phase is not drawn"

if [ $fails -ne 0 ]; then
	echo "test_life: $fails failure(s)"
	exit 1
fi
echo "test_life: all passed"
