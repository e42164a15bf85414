"""The Python peer of bench/bench_queue.c: queue.Queue(maxsize=1024) moving
n items from np producer threads to nc consumer threads (stopped by one
None per consumer, as the book does). Prints "py_queue <np>x<nc> <ns per
item>", the median of the repetitions, for bench_queue to parse."""
import queue
import statistics
import sys
import threading
import time


def run(np_, nc, n):
    q = queue.Queue(maxsize=1024)
    per = n // np_
    sums = [0] * nc

    def produce(p):
        for i in range(1, per + 1):
            q.put(p * per + i)

    def consume(c):
        s = 0
        while True:
            v = q.get()
            if v is None:
                break
            s += v
        sums[c] = s

    cons = [threading.Thread(target=consume, args=(c,)) for c in range(nc)]
    prods = [threading.Thread(target=produce, args=(p,)) for p in range(np_)]
    start = time.perf_counter_ns()
    for t in cons + prods:
        t.start()
    for t in prods:
        t.join()
    for _ in cons:
        q.put(None)
    for t in cons:
        t.join()
    elapsed = time.perf_counter_ns() - start
    m = per * np_
    assert sum(sums) == m * (m + 1) // 2
    return elapsed / m


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    for np_, nc in ((1, 1), (4, 4)):
        r = [run(np_, nc, n) for _ in range(reps)]
        print(f"py_queue {np_}x{nc} {statistics.median(r):.1f}", flush=True)


if __name__ == "__main__":
    main()
