"""The Python peer of bench/bench_echo.c: a TCP echo server on asyncio with
an asyncio.Protocol (data_received -> transport.write), the faster of
asyncio's two APIs (streams add a StreamReader and a coroutine per read).

  echo_server.py [max-seconds]

Listens on 127.0.0.1 port 0 and prints "PORT <n>"; exits when its stdin
reaches EOF (bench_echo closes it) or after max-seconds (default 120).
asyncio sets TCP_NODELAY on its TCP transports."""
import asyncio
import os
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def main(limit):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    server = await loop.create_server(Echo, '127.0.0.1', 0, backlog=1024)
    print('PORT', server.sockets[0].getsockname()[1], flush=True)

    def stdin_ready():
        if not os.read(0, 4096) and not done.done():
            done.set_result(None)

    loop.add_reader(0, stdin_ready)
    loop.call_later(limit, lambda: done.done() or done.set_result(None))
    await done
    loop.remove_reader(0)
    server.close()


if __name__ == '__main__':
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 120))
