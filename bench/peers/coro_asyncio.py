"""The Python peer of bench/bench_coro.c: plain asyncio (the default event
loop, no uvloop), one measurement per run, timed inside the program:

  coro_asyncio.py switch N  two tasks each doing `await asyncio.sleep(0)`
                            N times (after N/10 untimed): the loop hands
                            over from one to the other at every sleep(0);
                            prints "py switch <ns per switch>" (2N switches)
  coro_asyncio.py create N  `await asyncio.create_task(trivial())` N times
                            (after N/10 untimed); prints "py create <ns>"
  coro_asyncio.py skynet S  skynet: S leaves (a power of 10) in a 10-ary
                            tree of tasks, each parent creating its 10
                            children as tasks and awaiting them in order;
                            checks the sum; prints "py skynet <ms>"
  coro_asyncio.py rss N     N tasks awaiting one asyncio.Event; prints
                            "py rss <bytes per task>" (/proc/self/statm
                            resident delta), then sets the Event and waits
                            for all of them
"""
import asyncio
import gc
import os
import sys
import time


async def pingpong(n):
    async def side():
        for _ in range(n):
            await asyncio.sleep(0)

    a = asyncio.create_task(side())
    b = asyncio.create_task(side())
    await a
    await b


async def switch_ns(n):
    await pingpong(n // 10)
    t0 = time.perf_counter_ns()
    await pingpong(n)
    return (time.perf_counter_ns() - t0) / (2 * n)


async def trivial():
    return 1


async def create_ns(n):
    for _ in range(n // 10):
        await asyncio.create_task(trivial())
    t0 = time.perf_counter_ns()
    for _ in range(n):
        await asyncio.create_task(trivial())
    return (time.perf_counter_ns() - t0) / n


async def skynet(num, size, div):
    if size == 1:
        return num
    sub = size // div
    tasks = [asyncio.create_task(skynet(num + i * sub, sub, div))
             for i in range(div)]
    s = 0
    for t in tasks:
        s += await t
    return s


async def skynet_ms(size):
    t0 = time.perf_counter_ns()
    s = await asyncio.create_task(skynet(0, size, 10))
    ms = (time.perf_counter_ns() - t0) / 1e6
    if s != size * (size - 1) // 2:
        sys.exit("skynet: sum %d, want %d" % (s, size * (size - 1) // 2))
    return ms


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def rss(n):
    ev = asyncio.Event()
    blocked = 0

    async def waiter():
        nonlocal blocked
        blocked += 1
        await ev.wait()

    gc.collect()
    r0 = resident_bytes()
    tasks = [asyncio.create_task(waiter()) for _ in range(n)]
    while blocked < n:
        await asyncio.sleep(0)
    r1 = resident_bytes()
    ev.set()
    await asyncio.gather(*tasks)
    return (r1 - r0) / n


def main():
    if len(sys.argv) != 3 or int(sys.argv[2]) < 10:
        sys.exit("usage: coro_asyncio.py switch|create|skynet|rss N (>= 10)")
    mode, n = sys.argv[1], int(sys.argv[2])
    if mode == "switch":
        print("py switch %.3f" % asyncio.run(switch_ns(n)))
    elif mode == "create":
        print("py create %.3f" % asyncio.run(create_ns(n)))
    elif mode == "skynet":
        print("py skynet %.3f" % asyncio.run(skynet_ms(n)))
    elif mode == "rss":
        print("py rss %.1f" % asyncio.run(rss(n)))
    else:
        sys.exit("coro_asyncio.py: unknown mode " + mode)


if __name__ == "__main__":
    main()
