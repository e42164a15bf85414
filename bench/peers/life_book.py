#!/usr/bin/env python3
"""The book's Game of Life programs (Effective Python, items 56-60), as
peers of weft-life (tools/weft-life) for bench/run-life.sh.

Written from the book's description, one function per model:

  serial    item 56: simulate() steps every cell in turn
  threads   item 57: a Thread per cell per generation on a LockingGrid,
            then join them all (fan-out, fan-in)
  queue     item 58: the phased pipeline - ClosableQueue and
            StoppableWorker, 5 count_neighbors workers and 5 game_logic
            workers started once, in_queue.join(), logic_queue.join(),
            out_queue.close() and the fan-in loop
  pool10    item 59: ThreadPoolExecutor(max_workers=10), submit step_cell
  pool100   for every cell, then future.result() each (fan-in)
  asyncio   item 60: async game_logic/step_cell, asyncio.gather over every
            cell, one asyncio.run(simulate(grid)) per generation as the
            book writes it

game_logic does the I/O the book leaves as a comment: time.sleep(s) in the
thread models, await asyncio.sleep(s) in asyncio; --io-ms 0 does none.

--io tcp --server HOST:PORT makes it a real round trip instead, to a
rules server (weft-life --serve; docs/weft-life-protocol.md): request
"S N\n" (state, live neighbours), reply "*\n" or "-\n", anything else an
error. Connections, as weft-life's models keep them:
  thread models  one persistent connection per thread that runs
                 game_logic (threading.local), opened on first use: serial
                 one, threads one per cell's thread (closed when the
                 thread ends), queue one per game_logic worker (5), pool10
                 / pool100 one per pool thread (weft: one per worker)
  asyncio        one asyncio.open_connection per step_cell coroutine, i.e.
                 per cell per generation (weft's coro model: one per
                 coroutine), closed when it ends
Every connect and reply has a 10 s limit; a bad or missing reply, a
refused or reset connection or a timeout ends the run with an error
(exit 1), never a hang.

  life_book.py --model M --size RxC --generations N --io-ms F --seed N
               [--io sleep|tcp --server HOST:PORT]

prints one JSON line:
  {"model": M, "rows": R, "cols": C, "generations": N, "io_ms": F,
   "seed": S, "sec_per_gen": T, "final": "<sha256 hex of str(final grid)>"}
where str(grid) is the book's Grid.__str__ (rows of '*'/'-', each ending
in '\\n') and T is the wall time of the N generations / N (queue workers
and the pool are started before the clock and stopped after it).
If the system cannot start a thread (threads model), it prints
  {"model": M, ..., "error": "..."} and exits with status 3; a tcp error
prints the same with exit status 1. With --io tcp, "io" is "tcp" and
io_ms is 0.

The start grid (the same in life_go.go and weft-life's --seed):
  seed 0: empty, with the book's glider at the top-left:
          (0,3) (1,4) (2,2) (2,3) (2,4)   (row, column)
          (weft-life's start without --seed)
  seed N > 0: weft-life's random_grid: s = N * 0x9E3779B97F4A7C15 + 1;
          for each cell, row-major: s ^= s << 13; s ^= s >> 7;
          s ^= s << 17 (xorshift64, all mod 2**64); the cell is alive
          iff (s >> 33) % 3 == 0 (about a third alive)
"""

import argparse
import asyncio
import hashlib
import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from queue import Queue
from threading import Lock, Thread

ALIVE = '*'
EMPTY = '-'

IO_SECONDS = 0.0  # set from --io-ms
SERVER = None  # (host, port) with --io tcp
TCP_TIMEOUT = 10.0  # seconds, any connect or reply


class LifeIOError(Exception):
    """The rules server's round trip failed (bad reply, hung up, ...)."""


# ---- --io tcp: the round trip, thread side ----

_local = threading.local()
_conns = []  # every thread's connection, to close at the end
_conns_lock = Lock()


def check_reply(reply):
    if reply not in (b'*\n', b'-\n'):
        raise LifeIOError('bad reply from the rules server: %r' % reply)
    return reply[:1].decode()


def tcp_round_trip(state, neighbors):
    """One request and its reply on this thread's own connection."""
    sock = getattr(_local, 'sock', None)
    if sock is None:
        sock = socket.create_connection(SERVER, timeout=TCP_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _local.sock = sock
        with _conns_lock:
            _conns.append(sock)
    sock.sendall(('%s %d\n' % (state, neighbors)).encode())
    reply = b''
    while len(reply) < 2:
        chunk = sock.recv(2 - len(reply))
        if not chunk:
            raise LifeIOError('the rules server hung up (after %r)' % reply)
        reply += chunk
    return check_reply(reply)


def close_thread_conn():
    sock = getattr(_local, 'sock', None)
    if sock is not None:
        _local.sock = None
        with _conns_lock:
            _conns.remove(sock)
        sock.close()


def close_all_conns():
    with _conns_lock:
        for sock in _conns:
            sock.close()
        _conns.clear()


class Grid:
    def __init__(self, height, width):
        self.height = height
        self.width = width
        self.rows = [[EMPTY] * width for _ in range(height)]

    def get(self, y, x):
        return self.rows[y % self.height][x % self.width]

    def set(self, y, x, state):
        self.rows[y % self.height][x % self.width] = state

    def __str__(self):
        return ''.join(''.join(row) + '\n' for row in self.rows)


class LockingGrid(Grid):
    """Item 57: the grid the threads share, one Lock around every access."""

    def __init__(self, height, width):
        super().__init__(height, width)
        self.lock = Lock()

    def __str__(self):
        with self.lock:
            return super().__str__()

    def get(self, y, x):
        with self.lock:
            return super().get(y, x)

    def set(self, y, x, state):
        with self.lock:
            return super().set(y, x, state)


def count_neighbors(y, x, get):
    count = 0
    for dy, dx in ((-1, 0), (-1, 1), (0, 1), (1, 1),
                   (1, 0), (1, -1), (0, -1), (-1, -1)):
        if get(y + dy, x + dx) == ALIVE:
            count += 1
    return count


def rule(state, neighbors):
    if state == ALIVE:
        if neighbors < 2 or neighbors > 3:
            return EMPTY
    elif neighbors == 3:
        return ALIVE
    return state


def game_logic(state, neighbors):
    if SERVER:
        return tcp_round_trip(state, neighbors)  # the server's answer
    next_state = rule(state, neighbors)
    if IO_SECONDS > 0:
        time.sleep(IO_SECONDS)  # the blocking I/O the book leaves as a comment
    return next_state


def step_cell(y, x, get, set):
    state = get(y, x)
    neighbors = count_neighbors(y, x, get)
    set(y, x, game_logic(state, neighbors))


# ---- item 56: serial ----

def simulate_serial(grid):
    next_grid = Grid(grid.height, grid.width)
    for y in range(grid.height):
        for x in range(grid.width):
            step_cell(y, x, grid.get, next_grid.set)
    return next_grid


# ---- item 57: a thread per cell ----

class ThreadLimit(Exception):
    pass


def step_cell_thread(y, x, get, set, errors):
    """--io tcp: step_cell in its own thread, whose connection ends with
    it; an error is kept for the fan-in (a Thread would only print it)."""
    try:
        step_cell(y, x, get, set)
    except Exception as e:
        errors.append(e)
    finally:
        close_thread_conn()


def simulate_threaded(grid):
    next_grid = LockingGrid(grid.height, grid.width)
    threads = []
    errors = []
    try:
        for y in range(grid.height):
            for x in range(grid.width):
                if SERVER:
                    t = Thread(target=step_cell_thread,
                               args=(y, x, grid.get, next_grid.set, errors))
                else:
                    t = Thread(target=step_cell,
                               args=(y, x, grid.get, next_grid.set))
                t.start()  # fan-out
                threads.append(t)
    except RuntimeError as e:  # "can't start new thread"
        for t in threads:
            t.join()
        raise ThreadLimit(f'{e} (after {len(threads)} threads of '
                          f'{grid.height * grid.width})') from e
    for t in threads:
        t.join()  # fan-in
    if errors:
        raise errors[0]
    return next_grid


# ---- item 58: queues and worker threads (the phased pipeline) ----

class ClosableQueue(Queue):
    SENTINEL = object()

    def close(self):
        self.put(self.SENTINEL)

    def __iter__(self):
        while True:
            item = self.get()
            try:
                if item is self.SENTINEL:
                    return
                yield item
            finally:
                self.task_done()


class StoppableWorker(Thread):
    def __init__(self, func, in_queue, out_queue, **kwargs):
        super().__init__(**kwargs)
        self.func = func
        self.in_queue = in_queue
        self.out_queue = out_queue

    def run(self):
        for item in self.in_queue:
            self.out_queue.put(self.func(item))


class SimulationError(Exception):
    pass


def count_neighbors_thread(item):
    y, x, state, get = item
    try:
        neighbors = count_neighbors(y, x, get)
    except Exception as e:
        neighbors = e
    return (y, x, state, neighbors)


def game_logic_thread(item):
    y, x, state, neighbors = item
    if isinstance(neighbors, Exception):
        return (y, x, neighbors)
    try:
        next_state = game_logic(state, neighbors)
    except Exception as e:
        next_state = e
    return (y, x, next_state)


class Pipeline:
    WORKERS = 5  # per phase, as in the book

    def __init__(self):
        self.in_queue = ClosableQueue()
        self.logic_queue = ClosableQueue()
        self.out_queue = ClosableQueue()
        self.threads = []
        for _ in range(self.WORKERS):
            self.threads.append(StoppableWorker(
                count_neighbors_thread, self.in_queue, self.logic_queue))
        for _ in range(self.WORKERS):
            self.threads.append(StoppableWorker(
                game_logic_thread, self.logic_queue, self.out_queue))
        for t in self.threads:
            t.start()

    def simulate(self, grid):
        for y in range(grid.height):
            for x in range(grid.width):
                self.in_queue.put((y, x, grid.get(y, x), grid.get))  # fan-out
        self.in_queue.join()
        self.logic_queue.join()
        self.out_queue.close()
        next_grid = LockingGrid(grid.height, grid.width)
        for y, x, next_state in self.out_queue:  # fan-in
            if isinstance(next_state, Exception):
                raise SimulationError(y, x) from next_state
            next_grid.set(y, x, next_state)
        return next_grid

    def stop(self):
        for _ in range(self.WORKERS):
            self.in_queue.close()
        for _ in range(self.WORKERS):
            self.logic_queue.close()
        for t in self.threads:
            t.join()


# ---- item 59: ThreadPoolExecutor ----

def simulate_pool(pool, grid):
    next_grid = LockingGrid(grid.height, grid.width)
    futures = []
    for y in range(grid.height):
        for x in range(grid.width):
            futures.append(pool.submit(step_cell, y, x, grid.get,
                                       next_grid.set))  # fan-out
    for f in futures:
        f.result()  # fan-in
    return next_grid


# ---- item 60: asyncio ----

async def tcp_round_trip_async(state, neighbors):
    """One request and its reply on a connection of this coroutine's own."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(*SERVER), TCP_TIMEOUT)
    try:
        writer.write(('%s %d\n' % (state, neighbors)).encode())
        try:
            reply = await asyncio.wait_for(reader.readexactly(2), TCP_TIMEOUT)
        except asyncio.IncompleteReadError as e:
            raise LifeIOError('the rules server hung up (after %r)'
                              % e.partial) from None
        return check_reply(reply)
    finally:
        writer.close()
        await writer.wait_closed()


async def game_logic_async(state, neighbors):
    if SERVER:
        return await tcp_round_trip_async(state, neighbors)
    next_state = rule(state, neighbors)
    if IO_SECONDS > 0:
        await asyncio.sleep(IO_SECONDS)  # the I/O, awaited
    return next_state


async def step_cell_async(y, x, get, set):
    state = get(y, x)
    neighbors = count_neighbors(y, x, get)
    set(y, x, await game_logic_async(state, neighbors))


async def simulate_async(grid):
    next_grid = Grid(grid.height, grid.width)
    tasks = []
    for y in range(grid.height):
        for x in range(grid.width):
            tasks.append(step_cell_async(y, x, grid.get, next_grid.set))
    # fan-out and fan-in; with --io tcp every task is let finish (each is
    # bounded by its 10 s limits) and the first error raised after, so
    # that none fails unseen while asyncio.run cancels the rest
    results = await asyncio.gather(*tasks, return_exceptions=bool(SERVER))
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return next_grid


# ---- the start grid ----

MASK64 = (1 << 64) - 1


def start_grid(rows, cols, seed):
    grid = Grid(rows, cols)
    if seed == 0:
        for y, x in ((0, 3), (1, 4), (2, 2), (2, 3), (2, 4)):
            grid.set(y, x, ALIVE)
        return grid
    s = (seed * 0x9E3779B97F4A7C15 + 1) & MASK64
    for y in range(rows):
        row = grid.rows[y]
        for x in range(cols):
            s ^= (s << 13) & MASK64
            s ^= s >> 7
            s ^= (s << 17) & MASK64
            if (s >> 33) % 3 == 0:
                row[x] = ALIVE
    return grid


MODELS = ('serial', 'threads', 'queue', 'pool10', 'pool100', 'asyncio')


def run(model, grid, gens):
    """Run gens generations; return (final grid, seconds)."""
    if model == 'serial':
        t0 = time.perf_counter()
        for _ in range(gens):
            grid = simulate_serial(grid)
        return grid, time.perf_counter() - t0
    if model == 'threads':
        t0 = time.perf_counter()
        for _ in range(gens):
            grid = simulate_threaded(grid)
        return grid, time.perf_counter() - t0
    if model == 'queue':
        pipe = Pipeline()
        try:
            t0 = time.perf_counter()
            for _ in range(gens):
                grid = pipe.simulate(grid)
            return grid, time.perf_counter() - t0
        finally:
            pipe.stop()
    if model in ('pool10', 'pool100'):
        with ThreadPoolExecutor(max_workers=int(model[4:])) as pool:
            t0 = time.perf_counter()
            for _ in range(gens):
                grid = simulate_pool(pool, grid)
            return grid, time.perf_counter() - t0
    if model == 'asyncio':
        t0 = time.perf_counter()
        for _ in range(gens):
            grid = asyncio.run(simulate_async(grid))  # as the book does
        return grid, time.perf_counter() - t0
    raise ValueError(model)


def parse_size(s):
    try:
        r, c = s.lower().split('x')
        r, c = int(r), int(c)
    except ValueError:
        raise argparse.ArgumentTypeError(f'size must be RxC, not {s!r}')
    if r < 1 or c < 1:
        raise argparse.ArgumentTypeError('size must be at least 1x1')
    return r, c


def main():
    global IO_SECONDS
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--model', choices=MODELS, required=True)
    ap.add_argument('--size', type=parse_size, default=(5, 9))
    ap.add_argument('--generations', type=int, default=5)
    ap.add_argument('--io-ms', type=float, default=1.0)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--io', choices=('sleep', 'tcp'), default='sleep',
                    help='game_logic sleeps --io-ms, or asks --server')
    ap.add_argument('--server', metavar='HOST:PORT',
                    help='the rules server for --io tcp (weft-life --serve)')
    ap.add_argument('--print', action='store_true',
                    help='also print the final grid to stderr')
    a = ap.parse_args()
    rows, cols = a.size
    if a.generations < 1 or a.io_ms < 0 or a.seed < 0:
        ap.error('--generations >= 1, --io-ms >= 0, --seed >= 0')
    if a.seed == 0 and (rows < 3 or cols < 5):
        ap.error('seed 0 (the glider) needs at least 3x5')
    global SERVER
    if (a.io == 'tcp') != bool(a.server):
        ap.error('--io tcp and --server HOST:PORT go together')
    if a.server:
        host, _, port = a.server.rpartition(':')
        host = host[1:-1] if host.startswith('[') else host
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            ap.error('--server HOST:PORT, not %r' % a.server)
        SERVER = (host, int(port))
        a.io_ms = 0.0
    IO_SECONDS = a.io_ms / 1000.0
    out = {'model': a.model, 'rows': rows, 'cols': cols,
           'generations': a.generations, 'io_ms': a.io_ms, 'seed': a.seed}
    if SERVER:
        out['io'] = 'tcp'
    grid = start_grid(rows, cols, a.seed)
    try:
        grid, secs = run(a.model, grid, a.generations)
    except ThreadLimit as e:
        out['error'] = str(e)
        print(json.dumps(out), flush=True)
        return 3
    except (OSError, LifeIOError, SimulationError, asyncio.TimeoutError) as e:
        if isinstance(e, SimulationError) and e.__cause__ is not None:
            e = e.__cause__
        out['error'] = 'tcp: %s: %s' % (type(e).__name__, e)
        print(json.dumps(out), flush=True)
        return 1
    finally:
        close_all_conns()
    text = str(grid)
    if a.print:
        sys.stderr.write(text)
    out['sec_per_gen'] = secs / a.generations
    out['final'] = hashlib.sha256(text.encode()).hexdigest()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
