#!/bin/sh
# weft-life's tests: run the built program and check what it prints.
#   run.sh WEFT_LIFE LIFE_PTY DATA_DIR [sanitize=address|thread|]
# Small grids and no (or 100 us of) I/O: fast in the sanitizer builds too.
# No timing is asserted anywhere. Network: 127.0.0.1 only.
set -u
life=$1 pty=$2 data=$3 san=${4:-sanitize=}
san=${san#sanitize=}
tmp=$(mktemp -d)
srv=
# a --serve instance still running (a failed test) is killed, by its pid
trap '[ -n "$srv" ] && kill -KILL "$srv" 2>/dev/null; rm -rf "$tmp"' EXIT
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
	"$life" "$@" >"$tmp/o" 2>"$tmp/e" </dev/null
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

# 6b. The progress line: on a terminal, a run past its first second shows
#     "MODEL: generation g/N done, t s" on stderr (then clears it); with
#     stderr not a terminal, never. A serial 6x6 run sleeping 50 ms a cell
#     takes about 1.8 s a generation.
"$pty" "$life" --model serial --size 6x6 --io sleep:50ms --generations 1 \
	>"$tmp/p" 2>&1 || fail "progress: exit $?"
grep -q 'serial: generation [01]/1 done, [0-9.]* s' "$tmp/p" ||
	fail "progress: no progress line on a terminal: $(od -c "$tmp/p" | head -20)"
"$life" --model serial --size 6x6 --io sleep:50ms --generations 1 \
	>"$tmp/p" 2>"$tmp/perr" || fail "progress off a terminal: exit $?"
grep -q 'generation [01]/1 done' "$tmp/perr" "$tmp/p" &&
	fail "progress: a progress line without a terminal"

# 7. --serve: the rules server alone. A bad address, or one that cannot
#    be listened on, exits 2 with one line; a served instance answers every
#    model's round trips (--check on a random grid), and stops by itself,
#    exit 0, on end of file on its stdin and on SIGTERM, within 10 s.
bad "bad --serve 'nowhere'" --serve nowhere
bad "bad --serve '127.0.0.1:70000'" --serve 127.0.0.1:70000
bad "bad --serve '127.0.0.1:'" --serve 127.0.0.1:
bad "cannot serve on '192.0.2.1:0'" --serve 192.0.2.1:0 # not ours (TEST-NET-1)
bad "--serve takes no other option" --serve 127.0.0.1:0 --model coro

# serve_start: weft-life --serve 127.0.0.1:0 in the background ($srv), its
# stdin the fifo we hold open on fd 3; $addr its HOST:PORT line.
serve_start() {
	rm -f "$tmp/srv.in" "$tmp/srv.addr"
	mkfifo "$tmp/srv.in"
	"$life" --serve 127.0.0.1:0 <"$tmp/srv.in" >"$tmp/srv.addr" 2>"$tmp/srv.err" &
	srv=$!
	exec 3>"$tmp/srv.in"
	i=0
	while [ ! -s "$tmp/srv.addr" ] && [ $i -lt 100 ] && kill -0 $srv 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	addr=$(cat "$tmp/srv.addr")
	echo "$addr" | grep -Eq '^127\.0\.0\.1:[0-9]+$' ||
		fail "--serve: printed '$addr', not 127.0.0.1:PORT: $(cat "$tmp/srv.err")"
}
# serve_gone WHY: the server must be gone within 10 s, with exit status 0
serve_gone() {
	i=0
	while kill -0 $srv 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 $srv 2>/dev/null; then
		fail "--serve: still running 10 s after $1"
		kill -KILL $srv
	fi
	wait $srv
	rc=$?
	[ $rc -eq 0 ] || fail "--serve: exit $rc after $1: $(cat "$tmp/srv.err")"
	srv=
}
serve_start
"$life" --check --seed 4 --size 7x8 --generations 3 --io tcp --server "$addr" \
	--workers 3 --loops 2 >"$tmp/o" 2>&1 </dev/null ||
	fail "--check against --serve $addr: exit $?: $(cat "$tmp/o")"
grep -q "check: 5 models agree on 3 generations" "$tmp/o" ||
	fail "--check against --serve: no agreement line: $(cat "$tmp/o")"
bad "cannot serve on '$addr': Address already in use" --serve "$addr"
exec 3>&- # end of file on its stdin
serve_gone "end of file on stdin"
# it no longer listens: a client is refused
"$life" --model serial --io tcp --server "$addr" --generations 1 >"$tmp/o" 2>&1 </dev/null &&
	fail "--serve: $addr still answers after it stopped"
serve_start
kill -TERM $srv
serve_gone SIGTERM
exec 3>&-

# 8. The threads model past the system's thread limit (item 57's limit,
#    its -EAGAIN path). ulimit -v 256 MiB: 3600 threads with 256 KiB stacks
#    (~0.9 GiB) cannot be mapped, the other models (2 workers, 1 loop) fit
#    easily. As --help says: a one-line message naming the model and the
#    limit, the table shows it, the other models run, and with other
#    models the exit status stays 0 (1 when it is the only model).
#    Sanitizers reserve terabytes of address space, so ulimit -v cannot be
#    used there: under TSan the model refuses past 4000 threads itself
#    (70x70 takes that path); under ASan the case is skipped.
lim_size=60x60 lim_cells=3600 lim=
case $san in
address)
	echo "SKIP: threads past the thread limit: ulimit -v cannot be used" \
		"under AddressSanitizer (its shadow memory needs terabytes of" \
		"address space)"
	lim_size= ;;
thread) lim_size=70x70 lim_cells=4900 ;;
*) lim="ulimit -v 262144 &&" ;;
esac
limited() {
	sh -c "$lim exec \"\$0\" \"\$@\"" "$life" --size $lim_size --generations 2 \
		--workers 2 --loops 1 --seed 1 "$@" </dev/null
}
if [ -n "$lim_size" ]; then
	limited >"$tmp/o" 2>"$tmp/e" || fail "thread limit: exit $?, not 0: $(cat "$tmp/e")"
	want="weft-life: threads model did not run: the system refused a thread per cell ($lim_cells per generation)"
	[ "$(wc -l <"$tmp/e")" -eq 1 ] && grep -qF "$want" "$tmp/e" ||
		fail "thread limit: stderr is not one line naming the model and limit: $(cat "$tmp/e")"
	grep -q "^threads .*did not run: the system refused a thread per cell" "$tmp/o" ||
		fail "thread limit: no threads row saying so: $(cat "$tmp/o")"
	for m in serial queue pool coro; do
		grep -E "^$m +[0-9]+\.[0-9]+ " "$tmp/o" | grep -qv "failed" ||
			fail "thread limit: $m did not run: $(cat "$tmp/o")"
	done
	limited --json >"$tmp/j" 2>"$tmp/e" || fail "thread limit --json: exit $?, not 0"
	grep -q '"model": "threads", "ok": false, "error": "did not run: the system refused a thread per cell' \
		"$tmp/j" || fail "thread limit --json: no threads ok false: $(cat "$tmp/j")"
	[ "$(grep -c '"ok": true' "$tmp/j")" -eq 4 ] ||
		fail "thread limit --json: not 4 models ok: $(cat "$tmp/j")"
	limited --model threads >"$tmp/o" 2>"$tmp/e"
	rc=$?
	[ $rc -eq 1 ] || fail "thread limit, threads alone: exit $rc, not 1"
	grep -qF "$want" "$tmp/e" || fail "thread limit, threads alone: $(cat "$tmp/e")"
fi

# Nothing left behind: no child of this script still running or a zombie.
left=$(ps -o pid=,stat=,comm= --ppid $$ 2>/dev/null |
	awk '$3 == "weft-life" || $2 ~ /^Z/')
[ -z "$left" ] || fail "processes left behind: $left"

if [ $fails -ne 0 ]; then
	echo "test_life: $fails failure(s)"
	exit 1
fi
echo "test_life: all passed"
