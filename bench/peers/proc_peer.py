"""The Python side of bench_proc: the same work with subprocess.

Usage: proc_peer.py spawn N | pipelines N | communicate MIB
Prints one line "result: <number>" (ns per spawn, ms for all pipelines, or
MB/s through cat); bench_proc parses it.
"""
import os
import resource
import subprocess
import sys
import time

ENC = ['openssl', 'enc', '-des3', '-pass', 'env:password']
DGST = ['openssl', 'dgst', '-provider', 'legacy', '-provider', 'default',
        '-whirlpool', '-binary']


def spawn(n):
    subprocess.run(['/bin/true'])  # warm up
    t0 = time.perf_counter_ns()
    for _ in range(n):
        subprocess.run(['/bin/true'])
    return (time.perf_counter_ns() - t0) / n


def pipelines(n):
    # The seed's code, with the digest that works on OpenSSL 3.
    env = os.environ.copy()
    env['password'] = 'zf7ShyBhZOraQDdE/FiZpm/m/8f9X+M1'
    t0 = time.perf_counter_ns()
    encs, hashes = [], []
    for _ in range(n):
        enc = subprocess.Popen(ENC, env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        enc.stdin.write(os.urandom(100))
        enc.stdin.flush()
        h = subprocess.Popen(DGST, stdin=enc.stdout, stdout=subprocess.PIPE)
        enc.stdout.close()
        enc.stdout = None
        encs.append(enc)
        hashes.append(h)
    for p in encs:
        p.communicate()
        assert p.returncode == 0
    for p in hashes:
        out, _ = p.communicate()
        assert p.returncode == 0 and len(out) == 64
    return (time.perf_counter_ns() - t0) / 1e6


def communicate(mib):
    data = os.urandom(1 << 20) * mib
    best = 0.0
    for _ in range(2):
        t0 = time.perf_counter_ns()
        p = subprocess.Popen(['cat'], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        out, _ = p.communicate(data)
        dt = time.perf_counter_ns() - t0
        assert out == data and p.returncode == 0
        best = max(best, len(data) / (dt / 1e9) / 1e6)
    return best


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    mode, arg = sys.argv[1], int(sys.argv[2])
    result = {'spawn': spawn, 'pipelines': pipelines,
              'communicate': communicate}[mode](arg)
    print(f'result: {result:.3f}')


if __name__ == '__main__':
    main()
