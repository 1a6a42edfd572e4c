"""A TCP proxy on 127.0.0.1 that adds a fixed delay to every HTTP request, to imitate cloud latency.

The delay is applied once per request: before forwarding the first bytes a client sends on a new
connection, and again whenever it starts sending after the server has answered (keep-alive). Body
chunks of one request are not delayed again. Run as its own process so it never competes with the
measured program for the GIL:

    python benchmarks/latency_proxy.py --target 127.0.0.1:5000 --delay-ms 40
    # prints "listening <port>" once ready
"""

from __future__ import annotations

import argparse
import asyncio


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: dict[str, bool],
                delay_s: float, client_side: bool) -> None:
    try:
        while data := await reader.read(1 << 16):
            if client_side:
                if state["new_request"]:
                    state["new_request"] = False
                    await asyncio.sleep(delay_s)
            else:
                state["new_request"] = True  # the server answered: the client's next bytes are a new request
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def _serve(host: str, port: int, target_host: str, target_port: int, delay_s: float) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_w.close()
            return
        state = {"new_request": True}
        await asyncio.gather(_pump(client_r, server_w, state, delay_s, True),
                             _pump(server_r, client_w, state, delay_s, False))

    server = await asyncio.start_server(handle, host, port, backlog=256)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--target", required=True, help="host:port to forward to")
    parser.add_argument("--delay-ms", type=float, default=40.0)
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    asyncio.run(_serve("127.0.0.1", args.listen, host, int(port), args.delay_ms / 1000))


if __name__ == "__main__":
    main()
