#!/bin/sh
# Against the book (issue 9): the chapter's Game of Life whose cell logic
# sleeps (game_logic's I/O, --io-ms, 1 ms by default), run by
#   the book's own Python programs   bench/peers/life_book.py (items 56-60:
#                                    serial, threads, queue, pool10, pool100,
#                                    asyncio)
#   a Go peer                        bench/peers/life_go.go (a goroutine per
#                                    cell per generation)
#   weft-life's five models          serial threads queue pool coro
# on grids of 5x9 (the book's glider, seed 0), 50x50, 100x100 and 300x300
# (seed 1's soup), checks that every program reached the same final grid
# (sha256 of its text rows, against Go's serial run without I/O), and
# writes seconds per generation: a table on stdout and in docs/life-bench.md
# (between its life-bench markers), a chart (bench/life_chart.gp ->
# docs/life-chart.svg), then RESULT lines (bench/result.h's format).
#
# Then the tcp mode (issue 9: "the tcp mode reported beside it against the
# same Python and Go programs doing real round trips"): one rules server,
# `weft-life --serve 127.0.0.1:0`, shared by every program in turn; each
# cell's game_logic is a round trip to it (docs/weft-life-protocol.md), on
# 50x50 and 100x100 (seed 1), the same final-grid check; a second table
# (docs/life-bench.md, life-bench-tcp markers), a second chart
# (docs/life-chart-tcp.svg) and RESULT lines named life_tcp_*. The server
# is stopped at the end (end of file on its stdin, which also stops it if
# this script dies). After each tcp run the script counts the sockets in
# TIME_WAIT (/proc/net/tcp*): the connection-per-cell programs leave 10,000
# a generation at 100x100, and a run that could not get a port fails (and
# is shown failed), never hidden.
#
# Usage: bench/run-life.sh [--quick] [--sizes "5x9 50x50 ..."] [--io-ms F]
#                          [--docs DIR] [--from RUNS.jsonl] [--no-weft]
#                          [--no-tcp | --tcp-only]
#   --quick       5x9 and 50x50 only, fewer generations; tcp at 50x50 only
#                 (a smoke run)
#   --docs DIR    where life-bench.md and the charts go (default docs)
#   --from FILE   no runs: redraw the tables, charts and RESULT lines from a
#                 runs file an earlier run wrote (build/life-bench/runs.jsonl)
#   --no-weft     the peers only
#   --no-tcp      the sleep runs only; --tcp-only the tcp runs only (the
#                 other table in life-bench.md is left as it was)
# Slow pairs run fewer generations (marked "sampled") or are skipped
# (marked, with the time they would take), so the default run stays under
# about 12 minutes on 2 cores. Exit status 1 if any program disagreed on a
# final grid or a run failed for another reason than a known limit.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh gcc cmake ninja-build pkg-config libcmocka-dev python3 \
	golang-go gnuplot-nox
out=build/life-bench
mkdir -p "$out"
case " $* " in
*" --from "*) ;;
*)
	cmake -S . -B build/normal -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build/normal >/dev/null
	# go build, once, with its cache in the build tree ($HOME may not be
	# writable); the binary is what is timed, never `go run`.
	GOCACHE="$PWD/$out/go-cache" GO111MODULE=off \
		go build -o "$out/life_go" bench/peers/life_go.go ;;
esac
export LIFE_OUT="$out"
export WEFT_LIFE="${WEFT_LIFE:-build/normal/tools/weft-life/weft-life}"
exec python3 - "$@" <<'EOF'
import argparse, datetime, json, os, platform, re, subprocess, sys, time

OUT = os.environ['LIFE_OUT']
WEFT_LIFE = os.environ['WEFT_LIFE']
ap = argparse.ArgumentParser(prog='bench/run-life.sh')
ap.add_argument('--quick', action='store_true')
ap.add_argument('--sizes')
ap.add_argument('--io-ms', type=float, default=1.0)
ap.add_argument('--docs', default='docs')
ap.add_argument('--from', dest='from_file')
ap.add_argument('--no-weft', action='store_true')
ap.add_argument('--no-tcp', action='store_true')
ap.add_argument('--tcp-only', action='store_true')
args = ap.parse_args()
if args.no_tcp and args.tcp_only:
    ap.error('--no-tcp and --tcp-only do not go together')

# ---- the plan ----
# size -> (seed, generations); then per program the generations it runs
# there when fewer (sampled), or SKIP. One generation costs about
# cells * io / parallelism: serial 1 ms a cell (90 s a generation at
# 300x300), the book's queue model 5 game_logic workers, pool10 10.
SIZES = {'5x9': (0, 8), '50x50': (1, 4), '100x100': (1, 2), '300x300': (1, 1)}
QUICK = {'5x9': (0, 4), '50x50': (1, 2)}
SKIP = 0
FEWER = {
    ('py serial', '50x50'): 2, ('py serial', '100x100'): 1,
    ('py serial', '300x300'): SKIP,
    ('weft serial', '50x50'): 2, ('weft serial', '100x100'): 1,
    ('weft serial', '300x300'): SKIP,
}
# The fast programs (milliseconds a generation) run more generations, so
# their figure is the steady state rather than the first generation's
# cold start (fresh stacks faulted in: ~20 ms for weft's 10,000 at
# 100x100, ~3 ms for Go's), which two generations would mostly measure.
MORE = {}
for fast in ('go goroutines', 'weft coro'):
    MORE.update({(fast, '50x50'): 20, (fast, '100x100'): 20,
                 (fast, '300x300'): 5})
if args.quick:
    MORE = {}
    FEWER = {k: v for k, v in FEWER.items() if k[1] != '50x50'}
    FEWER[('py serial', '50x50')] = 1
    FEWER[('weft serial', '50x50')] = 1
    FEWER[('py queue', '50x50')] = 1
sizes = QUICK if args.quick else SIZES
if args.sizes:
    want = args.sizes.replace(',', ' ').split()
    sizes = {s: SIZES.get(s, (1, 1)) for s in want}

# tcp: a round trip a cell costs tens of microseconds in C and a few
# hundred in Python; the thread-per-cell and connection-per-cell programs
# also connect once a cell. The slow ones run fewer generations at 100x100.
TCP_SIZES = {'50x50': (1, 4), '100x100': (1, 2)}
TCP_QUICK = {'50x50': (1, 2)}
TCP_FEWER = {('py serial', '100x100'): 1, ('py threads', '100x100'): 1,
             ('py queue', '100x100'): 1, ('weft serial', '100x100'): 1}
if args.quick:
    TCP_FEWER = {}
tcp_sizes = TCP_QUICK if args.quick else TCP_SIZES
if args.sizes:
    tcp_sizes = {s: TCP_SIZES.get(s, (1, 1)) for s in want}
MODES = (['sleep'] if not args.tcp_only else []) + \
    (['tcp'] if not args.no_tcp else [])

BOOK = ['serial', 'threads', 'queue', 'pool10', 'pool100', 'asyncio']
WEFT = ['serial', 'threads', 'queue', 'pool', 'coro']
PROGS = [('py ' + m, 'book', m) for m in BOOK] + [('go goroutines', 'go', 'goroutines')]
if not args.no_weft:
    PROGS += [('weft ' + m, 'weft', m) for m in WEFT]
TIMEOUT = 240  # seconds, any one run
SERVER = None  # the tcp runs' rules server, HOST:PORT


def io_spec(ms):
    return 'sleep:%gms' % ms if ms > 0 else 'none'


def command(group, model, size, gens, seed, io_ms, io='sleep'):
    if group == 'book':
        return [sys.executable, 'bench/peers/life_book.py', '--model', model,
                '--size', size, '--generations', str(gens),
                '--seed', str(seed)] + \
            (['--io', 'tcp', '--server', SERVER] if io == 'tcp'
             else ['--io-ms', '%g' % io_ms])
    if group == 'go':
        return [os.path.join(OUT, 'life_go'), '--model', model, '--size', size,
                '--generations', str(gens), '--seed', str(seed)] + \
            (['--io', 'tcp', '--server', SERVER] if io == 'tcp'
             else ['--io-ms', '%g' % io_ms])
    # weft-life starts from the book's glider (top-left) without --seed
    return [WEFT_LIFE, '--model', model, '--size', size, '--generations',
            str(gens)] + \
        (['--io', 'tcp', '--server', SERVER] if io == 'tcp'
         else ['--io', io_spec(io_ms)]) + \
        (['--seed', str(seed)] if seed else []) + ['--json']


def time_wait():
    """Sockets in TIME_WAIT (state 06) on this machine, IPv4 and IPv6."""
    n = 0
    for f in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(f) as fh:
                n += sum(1 for line in fh if line.split()[3:4] == ['06'])
        except OSError:
            pass
    return n


def sysctl(name):
    try:
        with open('/proc/sys/' + name.replace('.', '/')) as f:
            return ' '.join(f.read().split())
    except OSError:
        return '?'


class Server:
    """weft-life --serve 127.0.0.1:0: started once for every tcp run;
    stops on end of file on its stdin (close(), or this script's death)."""

    def __init__(self):
        import select
        self.p = subprocess.Popen([WEFT_LIFE, '--serve', '127.0.0.1:0'],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        ready, _, _ = select.select([self.p.stdout], [], [], 10)
        line = self.p.stdout.readline().strip() if ready else ''
        if not re.fullmatch(r'127\.0\.0\.1:\d+', line):
            self.close()
            raise RuntimeError('weft-life --serve printed %r' % line)
        self.addr = line

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                print('weft-life --serve still running 10 s after end of '
                      'file: killed')
                self.p.kill()
                self.p.wait()
        return self.p.returncode


def parse_json(text, model):
    """The JSON object a program printed for `model`, in the peers' form
    {model, sec_per_gen, final[, error]}. The book's and Go's print one
    line. weft-life --json (version 1) prints one object whose "results"
    has one entry per model: {model, ok, estimated, generations (timed),
    seconds_per_generation, speedup, note} or {model, ok: false, error};
    its "final" (the hash) is taken when an entry has one."""
    objs = []
    try:
        v = json.loads(text)
        objs = v if isinstance(v, list) else [v]
    except ValueError:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith('{'):
                try:
                    objs.append(json.loads(line))
                except ValueError:
                    pass
    flat = []
    for o in objs:
        if isinstance(o, dict) and isinstance(o.get('results'), list):
            for r in o['results']:
                if isinstance(r, dict):
                    r = dict(r)
                    if 'seconds_per_generation' in r:
                        r.setdefault('sec_per_gen', r['seconds_per_generation'])
                    if r.get('ok') is False:
                        r.setdefault('error', r.get('note') or 'did not run')
                        r.pop('sec_per_gen', None)
                    flat.append(r)
        elif isinstance(o, dict):
            flat.append(o)
    for o in flat:
        if o.get('model') == model:
            return o
    return flat[-1] if flat else None


def run(cmd, model):
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {'status': 'timeout', 'error': 'no answer in %d s' % TIMEOUT}
    except OSError as e:
        return {'status': 'failed', 'error': str(e)}
    o = parse_json(p.stdout, model) or {}
    r = {'wall': time.monotonic() - t0, 'rc': p.returncode}
    if p.returncode == 0 and o.get('sec_per_gen') and not o.get('error'):
        r.update(status='ok', sec_per_gen=float(o['sec_per_gen']))
        if o.get('final'):
            r['final'] = str(o['final']).lower()
        if o.get('estimated'):
            r['estimated'] = True
        if isinstance(o.get('generations'), int):
            r['timed_generations'] = o['generations']
        return r
    err = o.get('error') or (p.stderr.strip().splitlines() or ['exit %d' % p.returncode])[-1]
    # the thread-per-cell models' known limit: the system would not start
    # a thread per cell (the book's RuntimeError, weft-life's -EAGAIN)
    limit = (p.returncode == 3 or re.search(r"can't start new thread|EAGAIN|"
                                            r"Resource temporarily unavailable|"
                                            r"refused a thread", str(err)))
    r.update(status='limit' if limit else 'failed', error=str(err)[:200])
    return r


def measure_mode(io, plan, fewer, runs, refs):
    have_weft = os.access(WEFT_LIFE, os.X_OK)
    for size, (seed, g) in plan.items():
        r, c = (int(v) for v in size.split('x'))
        for label, group, model in PROGS:
            gens = fewer.get((label, size),
                             MORE.get((label, size), g) if io == 'sleep' else g)
            rec = {'prog': label, 'group': group, 'model': model, 'size': size,
                   'rows': r, 'cols': c, 'cells': r * c, 'seed': seed,
                   'generations': gens, 'full_generations': g, 'io': io,
                   'io_ms': args.io_ms if io == 'sleep' else 0}
            if gens == SKIP:
                rec.update(status='skipped', error='about %.0f s a generation'
                           % (r * c * args.io_ms / 1000))
            elif group == 'weft' and not have_weft:
                rec.update(status='missing', error='weft-life not built')
            else:
                key = (size, seed, gens)
                if key not in refs:  # the reference: Go, serial, no I/O
                    ref = run(command('go', 'serial', size, gens, seed, 0), 'serial')
                    refs[key] = ref.get('final')
                rec.update(run(command(group, model, size, gens, seed,
                                       args.io_ms, io), model))
                rec['reference'] = refs[key]
                if rec['status'] == 'ok' and 'final' not in rec:
                    rec['unchecked'] = True  # no hash printed: timing only
                elif rec['status'] == 'ok' and rec['final'] != refs[key]:
                    rec['status'] = 'mismatch'
                if io == 'tcp':
                    rec['time_wait'] = time_wait()
            shown = ('%.6g s/gen' % rec['sec_per_gen'] if rec['status'] == 'ok'
                     else rec['status'] + ': ' + rec.get('error', ''))
            if io == 'tcp':
                shown += '  (TIME_WAIT now %d)' % rec['time_wait'] \
                    if 'time_wait' in rec else ''
            print('%-5s %-8s %-14s %d gen  %s' % (io, size, label, gens, shown),
                  flush=True)
            runs.append(rec)


def measure():
    global SERVER
    runs = []
    refs = {}
    if not os.access(WEFT_LIFE, os.X_OK) and not args.no_weft:
        print('weft-life: %s is not built; its rows stay empty' % WEFT_LIFE)
    if 'sleep' in MODES:
        measure_mode('sleep', sizes, FEWER, runs, refs)
    if 'tcp' in MODES:
        if not os.access(WEFT_LIFE, os.X_OK):
            print('tcp: no weft-life to serve the rules; no tcp runs')
            return runs
        server = Server()  # stopped below, and by our death (its stdin)
        SERVER = server.addr
        print('tcp: rules server weft-life --serve at %s' % SERVER, flush=True)
        try:
            measure_mode('tcp', tcp_sizes, TCP_FEWER, runs, refs)
        finally:
            rc = server.close()
        if rc != 0:
            print('tcp: the rules server exited %s' % rc)
            runs.append({'prog': 'weft-life --serve', 'io': 'tcp',
                         'size': '-', 'status': 'failed',
                         'error': 'exit status %s' % rc})
    return runs


def env_info():
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return '?'
    return {'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
            'commit': first(['git', 'rev-parse', '--short', 'HEAD']),
            'python': platform.python_version(), 'go': first(['go', 'version']),
            'cores': os.cpu_count(), 'io_ms': args.io_ms,
            'modes': MODES,
            'tcp_tw_reuse': sysctl('net.ipv4.tcp_tw_reuse'),
            'port_range': sysctl('net.ipv4.ip_local_port_range'),
            'options': ' '.join(sys.argv[1:]) or '(defaults)'}


if args.from_file:
    with open(args.from_file) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    info, runs = lines[0], lines[1:]
else:
    info = env_info()
    runs = measure()
    with open(os.path.join(OUT, 'runs.jsonl'), 'w') as f:
        for o in [info] + runs:
            f.write(json.dumps(o) + '\n')

# ---- the tables, the docs sections, the charts ----
for r in runs:
    r.setdefault('io', 'sleep')  # runs files from before the tcp mode
modes_run = [m for m in ('sleep', 'tcp') if any(r['io'] == m for r in runs)]
failed_all = []
results = []


def report(io, runs):
    """Print the table for one I/O mode, write its docs section and chart;
    return the mode's RESULT lines."""
    runs = [r for r in runs if r['io'] == io and r.get('size') != '-']
    size_list = []
    for r in runs:
        if r['size'] not in size_list:
            size_list.append(r['size'])
    size_list.sort(key=lambda s: (lambda r, c: r * c)(*map(int, s.split('x'))))
    prog_list = []
    for r in runs:
        if r['prog'] not in prog_list:
            prog_list.append(r['prog'])
    cell = {(r['prog'], r['size']): r for r in runs}

    def sec(prog, size):
        r = cell.get((prog, size))
        return r['sec_per_gen'] if r and r['status'] == 'ok' else 0.0

    notes = []
    rows_md = []
    for prog in prog_list:
        row = ['`%s`' % prog]
        for size in size_list:
            r = cell.get((prog, size))
            if r is None:
                row.append('')
                continue
            st = r['status']
            if st == 'ok':
                a = sec('py asyncio', size)
                txt = '%.3g' % r['sec_per_gen']
                if a > 0:
                    txt += ' (%.2g×)' % (a / r['sec_per_gen'])
                if r['generations'] < r['full_generations']:
                    txt += ' †'
                elif r['generations'] > r['full_generations']:
                    txt += ' ‡'
                if r.get('estimated'):
                    txt += ' (estimated)'
                row.append(txt)
            elif st == 'skipped':
                row.append('skipped (%s)' % r['error'])
            elif st == 'missing':
                row.append('—')
            else:
                notes.append('%s at %s: %s — %s' % (prog, size, st, r.get('error', '')))
                row.append('**%s**' % st)
        rows_md.append('| ' + ' | '.join(row) + ' |')

    head = '| program | ' + ' | '.join(
        '%s (%d gen)' % (s, max(r['full_generations'] for r in runs if r['size'] == s))
        for s in size_list) + ' |'
    sampled = sorted({'%s at %s: %d of %d generations' % (r['prog'], r['size'],
                      r['generations'], r['full_generations'])
                      for r in runs if r['status'] == 'ok'
                      and r['generations'] < r['full_generations']})
    longer = sorted({'%s at %s: %d' % (r['prog'], r['size'], r['generations'])
                     for r in runs if r['status'] == 'ok'
                     and r['generations'] > r['full_generations']})
    checked = [r for r in runs if r['status'] in ('ok', 'mismatch')
               and not r.get('unchecked')]
    unchecked = [r for r in runs if r['status'] == 'ok' and r.get('unchecked')]
    bad = [r for r in runs if r['status'] == 'mismatch']
    agree = ('every one of the %d runs reached the reference final grid (Go, '
             'serial, no I/O, same seed and generations)' % len(checked)
             if not bad else '**%d of %d runs disagreed on the final grid**: %s'
             % (len(bad), len(checked), ', '.join('%s at %s' % (r['prog'], r['size'])
                                                  for r in bad)))
    if io == 'tcp':
        what = ('each cell\'s game_logic a round trip to one rules server '
                '(`weft-life --serve`, shared by every program in turn) over '
                'loopback')
    else:
        what = 'game_logic sleeping %g ms a cell' % info['io_ms']
    md = ['Seconds per generation (one run each: the wall time of its '
          'generations / their number), %s; in brackets '
          'how many times faster than the book\'s asyncio (item 60) at that size '
          '(>1: faster).' % what, '',
          head, '|' + '---|' * (len(size_list) + 1)] + rows_md + ['']
    if sampled:
        md.append('† sampled: ' + '; '.join(sampled) + '.')
        md.append('')
    if longer:
        md.append('‡ more generations, so the figure is the steady state and '
                  'not mostly the first generation\'s cold start: ' +
                  '; '.join(longer) + '.')
        md.append('')
    if unchecked:
        agree += ('; %d runs printed no final grid and are not checked (%s)'
                  % (len(unchecked), ', '.join(sorted({r['prog'] for r in unchecked}))))
    md.append('Final grids: %s.' % agree)
    md.append('')
    if io == 'tcp':
        tw = [r['time_wait'] for r in runs if 'time_wait' in r]
        if tw:
            md.append('Ports: at most %d sockets in TIME_WAIT after a run '
                      '(net.ipv4.tcp_tw_reuse = %s, ephemeral ports %s); '
                      'a connect that found no port would have failed its run '
                      'and been listed below.'
                      % (max(tw), info.get('tcp_tw_reuse', '?'),
                         info.get('port_range', '?').replace(' ', '–')))
            md.append('')
    for n in notes:
        md.append('- ' + n)
    if notes:
        md.append('')
    md.append('Run: %(date)s, commit %(commit)s, %(cores)s cores, Python %(python)s, '
              '%(go)s; `bench/run-life.sh %(options)s`.' % info)
    md.append('')
    chart = 'life-chart.svg' if io == 'sleep' else 'life-chart-tcp.svg'
    md.append('![seconds per generation by model and grid size](%s)' % chart)

    # stdout: the table as plain text
    print()
    print('--io %s' % ('tcp (round trips to weft-life --serve)' if io == 'tcp'
                       else 'sleep:%gms' % info['io_ms']))
    w = max(len(p) for p in prog_list) + 2
    print('%-*s' % (w, 's/gen') + ''.join('%22s' % s for s in size_list))
    for prog in prog_list:
        line = '%-*s' % (w, prog)
        for size in size_list:
            r = cell.get((prog, size))
            st = r['status'] if r else ''
            if st == 'ok':
                t = '%.4g' % r['sec_per_gen']
                a = sec('py asyncio', size)
                t += ' (%.2gx)' % (a / r['sec_per_gen']) if a > 0 else ''
                t += '*' if r['generations'] < r['full_generations'] else ''
            else:
                t = st or '-'
            line += '%22s' % t
        print(line)
    print('(x: times faster than py asyncio; *: sampled, fewer generations)')
    print('final grids:', re.sub(r'\*\*', '', agree))

    # the docs section
    os.makedirs(args.docs, exist_ok=True)
    doc = os.path.join(args.docs, 'life-bench.md')
    tag = 'life-bench' if io == 'sleep' else 'life-bench-tcp'
    BEGIN, END = '<!-- %s:begin -->' % tag, '<!-- %s:end -->' % tag
    section = BEGIN + '\n' + '\n'.join(md) + '\n' + END
    text = open(doc).read() if os.path.exists(doc) else '# weft-life against the book\n'
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text += '\n' + section + '\n'
    with open(doc, 'w') as f:
        f.write(text)

    # the chart
    dat = os.path.join(OUT, 'life.dat' if io == 'sleep' else 'life-tcp.dat')
    dashes, colors = [], []
    COLOR = {'serial': '#000000', 'threads': '#9400d3', 'queue': '#009e73',
             'pool10': '#56b4e9', 'pool': '#56b4e9', 'pool100': '#0072b2',
             'asyncio': '#e69f00', 'coro': '#e69f00', 'goroutines': '#d62728'}
    with open(dat, 'w') as f:
        for prog in prog_list:
            pts = [(cell[(prog, s)]['cells'], cell[(prog, s)]['sec_per_gen'], s)
                   for s in size_list
                   if (prog, s) in cell and cell[(prog, s)]['status'] == 'ok']
            if not pts:
                continue
            dashes.append({'py': '2', 'go': '3'}.get(prog[:2], '1'))
            colors.append(COLOR.get(prog.split()[-1], '#7f7f7f'))
            if dashes[:-1]:
                f.write('\n\n')  # blocks apart, none after the last
            f.write('"%s"\n' % prog)
            for n, t, s in pts:
                f.write('%d %.9g "%s"\n' % (n, t, s.replace('x', '×')))
    svg = os.path.join(args.docs, chart)
    if io == 'tcp':
        title = ('Game of Life, game\\_logic a round trip to a rules server (%s)'
                 % info['date'])
    else:
        title = ('Game of Life, game\\_logic sleeping %g ms a cell (%s)'
                 % (info['io_ms'], info['date']))
    try:
        subprocess.run(['gnuplot', '-e', "datafile='%s'; outfile='%s'; chart_title='%s'; dashes='%s'; colors='%s'"
                        % (dat, svg, title, ' '.join(dashes), ' '.join(colors)), 'bench/life_chart.gp'], check=True)
        print('table: %s; chart: %s' % (doc, svg))
    except (OSError, subprocess.CalledProcessError) as e:
        print('gnuplot failed: %s' % e)

    # RESULT lines (bench/result.h): the same pairs in both modes
    def ratio(num, den):
        return num / den if num > 0 and den > 0 else 0

    PEER = {'serial': ('py serial', 'py_serial'), 'threads': ('py threads', 'py_threads'),
            'queue': ('py queue', 'py_queue'), 'pool': ('py pool10', 'py_pool10'),
            'coro': ('py asyncio', 'asyncio')}
    prefix = 'life_' if io == 'sleep' else 'life_tcp_'
    lines = []
    for size in size_list:
        for m in WEFT:
            wv = sec('weft ' + m, size)
            prog, name = PEER[m]
            pv = sec(prog, size)
            lines.append('RESULT %s%s_%s_s weft=%.6g %s=%.6g ratio=%.4g unit=s'
                         % (prefix, m, size, wv, name, pv, ratio(pv, wv)))
        wv, gv = sec('weft coro', size), sec('go goroutines', size)
        lines.append('RESULT %scoro_vs_go_%s_s weft=%.6g go=%.6g ratio=%.4g unit=s'
                     % (prefix, size, wv, gv, ratio(gv, wv)))
    return lines


for io in modes_run:
    results += report(io, runs)
print()
for line in results:
    print(line)
failed = [r for r in runs if r['status'] in ('mismatch', 'failed', 'timeout')]
sys.exit(1 if failed else 0)
EOF
