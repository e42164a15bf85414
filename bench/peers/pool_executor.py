"""The Python peer of bench/bench_pool.c: concurrent.futures.ThreadPoolExecutor
with 2 workers, driven from one thread.

  tasks: submit n tiny tasks (each adds 1 to a shared counter under a lock:
         Python has no atomic integer), then result() on every future;
         prints "python tasks <millions of tasks per second>".
  trip:  submit(one task).result(), repeated; prints "python trip <us>".

Each is the median of the repetitions, for bench_pool to parse."""
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

lock = threading.Lock()
counter = 0


def inc():
    global counter
    with lock:
        counter += 1


def tasks(n):
    global counter
    counter = 0
    with ThreadPoolExecutor(max_workers=2) as ex:
        start = time.perf_counter_ns()
        fs = [ex.submit(inc) for _ in range(n)]
        for f in fs:
            f.result()
        elapsed = time.perf_counter_ns() - start
    assert counter == n
    return n / (elapsed / 1e9) / 1e6


def trip(n):
    with ThreadPoolExecutor(max_workers=2) as ex:
        warm = n // 10
        for i in range(n):
            if i == warm:
                start = time.perf_counter_ns()
            ex.submit(inc).result()
        elapsed = time.perf_counter_ns() - start
    return elapsed / 1e3 / (n - warm)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    trips = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    print(f"python tasks {statistics.median(tasks(n) for _ in range(reps)):.4f}",
          flush=True)
    print(f"python trip {statistics.median(trip(trips) for _ in range(reps)):.2f}",
          flush=True)


if __name__ == "__main__":
    main()
