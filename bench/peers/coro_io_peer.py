"""The Python side of bench/bench_coro_io.c.

  coro_io_peer.py pipelines N openssl|cat
      The seed's code (Effective Python item 52): N pipelines
      `openssl enc -des3 | openssl dgst -whirlpool -binary` (the digest with
      OpenSSL 3's legacy provider loaded), chained with subprocess.Popen
      (stdin=enc.stdout), all started first -- each fed 100 random bytes as
      it starts -- then communicate() on each. With `cat`, `cat | cat`.
      Prints "python pipelines <wall seconds>", then "python self_cpu <s>"
      and "python kids_cpu <s>": its own CPU time and its children's.
  coro_io_peer.py await N
      One round trip to a 2-worker ThreadPoolExecutor for a trivial
      function, in ns: `await loop.run_in_executor(pool, f)` from a
      coroutine, `await asyncio.to_thread(f)` (the loop's default
      executor), and pool.submit(f).result() from a thread. Each after a
      10% warm-up. Prints "python await|to_thread|thread <ns>".
"""
import asyncio
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ENC = ['openssl', 'enc', '-des3', '-pass', 'env:password']
DGST = ['openssl', 'dgst', '-provider', 'legacy', '-provider', 'default',
        '-whirlpool', '-binary']


def run_encrypt(data, argv):
    env = os.environ.copy()
    env['password'] = 'zf7ShyBhZOraQDdE/FiZpm/m/8f9X+M1'
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    proc.stdin.write(data)
    proc.stdin.flush()  # Ensure that the child gets input
    return proc


def run_hash(input_stdin, argv):
    return subprocess.Popen(argv, stdin=input_stdin, stdout=subprocess.PIPE)


def pipelines(n, kind):
    enc, dgst, want = (ENC, DGST, 64) if kind == 'openssl' else \
        (['cat'], ['cat'], 100)
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter_ns()
    encrypt_procs = []
    hash_procs = []
    for _ in range(n):
        data = os.urandom(100)
        encrypt_proc = run_encrypt(data, enc)
        encrypt_procs.append(encrypt_proc)
        hash_proc = run_hash(encrypt_proc.stdout, dgst)
        hash_procs.append(hash_proc)
        # Ensure that the child consumes the input stream and the
        # communicate() method doesn't inadvertently steal input from the
        # child. Also lets SIGPIPE propagate to the upstream process if
        # the downstream process dies.
        encrypt_proc.stdout.close()
        encrypt_proc.stdout = None
    for proc in encrypt_procs:
        proc.communicate()
        assert proc.returncode == 0
    for proc in hash_procs:
        out, _ = proc.communicate()
        assert proc.returncode == 0 and len(out) == want
    wall = (time.perf_counter_ns() - t0) / 1e9
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f'python pipelines {wall:.6f}')
    print('python self_cpu %.6f' % (self1.ru_utime + self1.ru_stime -
                                    self0.ru_utime - self0.ru_stime))
    print('python kids_cpu %.6f' % (kids1.ru_utime + kids1.ru_stime -
                                    kids0.ru_utime - kids0.ru_stime),
          flush=True)


def f():
    return None


async def await_trips(pool, n):
    loop = asyncio.get_running_loop()
    warm = n // 10
    for i in range(warm + n):
        if i == warm:
            t0 = time.perf_counter_ns()
        await loop.run_in_executor(pool, f)
    print(f'python await {(time.perf_counter_ns() - t0) / n:.1f}',
          flush=True)
    for i in range(warm + n):
        if i == warm:
            t0 = time.perf_counter_ns()
        await asyncio.to_thread(f)
    print(f'python to_thread {(time.perf_counter_ns() - t0) / n:.1f}',
          flush=True)


def thread_trips(pool, n):
    warm = n // 10
    for i in range(warm + n):
        if i == warm:
            t0 = time.perf_counter_ns()
        pool.submit(f).result()
    print(f'python thread {(time.perf_counter_ns() - t0) / n:.1f}',
          flush=True)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    mode, n = sys.argv[1], int(sys.argv[2])
    if mode == 'pipelines':
        pipelines(n, sys.argv[3] if len(sys.argv) > 3 else 'openssl')
    elif mode == 'await':
        with ThreadPoolExecutor(max_workers=2) as pool:
            asyncio.run(await_trips(pool, n))
            thread_trips(pool, n)
    else:
        sys.exit(f'unknown mode {mode}')


if __name__ == '__main__':
    main()
