"""A small, fast HTTP/1.1 load generator and origin server on loopback, for the
benchmark and the soak. Every loop is bounded in count and time.

The server (run it in its own process) answers by path:
  /plain                      200, no CORS headers
  /cors/good                  reflects Origin, ACAC true
  /cors/star                  ACAO *
  /cors/pf-good   OPTIONS     a good preflight (PUT); PUT: reflects Origin, ACAC true
  /cors/pf-noacac OPTIONS     a preflight without ACAC (fails only with credentials)
  /drop                       closes the connection without answering
  /slow                       answers after 50 ms
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from dataclasses import dataclass, field

PAGE = "http://127.0.0.1:8000"


def _response(method: str, path: str, origin: str | None) -> bytes | None:
    h = [b"HTTP/1.1 200 OK"]
    if path.startswith("/drop"):
        return None
    if path.startswith("/cors/good") or (path.startswith("/cors/pf-good") and method != "OPTIONS"):
        h += [b"Access-Control-Allow-Origin: " + (origin or "").encode("latin-1"),
              b"Access-Control-Allow-Credentials: true", b"Vary: Origin"]
    elif path.startswith("/cors/star"):
        h += [b"Access-Control-Allow-Origin: *"]
    elif path.startswith("/cors/pf-good"):
        h[0] = b"HTTP/1.1 204 No Content"
        h += [b"Access-Control-Allow-Origin: " + (origin or "").encode("latin-1"),
              b"Access-Control-Allow-Credentials: true", b"Access-Control-Allow-Methods: PUT",
              b"Access-Control-Allow-Headers: content-type"]
    elif path.startswith("/cors/pf-noacac"):
        h[0] = b"HTTP/1.1 204 No Content"
        h += [b"Access-Control-Allow-Origin: " + (origin or "").encode("latin-1"),
              b"Access-Control-Allow-Methods: PUT"]
    body = b"" if h[0].endswith(b"No Content") else b'{"ok": true, "data": "0123456789"}'
    h += [b"Content-Type: application/json", b"Content-Length: " + str(len(body)).encode()]
    return b"\r\n".join(h) + b"\r\n\r\n" + body


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            n = int(headers.get("content-length") or 0)
            if n:
                await reader.readexactly(n)
            if target.startswith("/slow"):
                await asyncio.sleep(0.05)
            out = _response(method, target, headers.get("origin"))
            if out is None:
                break
            writer.write(out)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


def _serve(conn) -> None:
    async def main():
        server = await asyncio.start_server(_handle, "127.0.0.1", 0, backlog=1024)
        conn.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class OriginServer:
    """The origin server in its own process (so it does not share the load
    generator's GIL); stopped by PID on exit."""

    def __enter__(self) -> "OriginServer":
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        self.proc.start()
        if not parent.poll(30):
            raise RuntimeError("origin server did not start")
        self.port = parent.recv()
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)


# (weight, method, path, extra headers); {o} is replaced by the page origin
MIX = [
    (35, "GET", "/plain", []),
    (20, "GET", "/cors/good", ["Origin: {o}", "Sec-Fetch-Mode: cors", "Cookie: sid=SOAKSECRET"]),
    (10, "GET", "/cors/star", ["Origin: {o}", "Sec-Fetch-Mode: cors", "Cookie: sid=SOAKSECRET"]),
    (10, "GET", "/cors/star", ["Origin: {o}", "Sec-Fetch-Mode: cors"]),
    (10, "OPTIONS", "/cors/pf-good", ["Origin: {o}", "Sec-Fetch-Mode: cors",
                                      "Access-Control-Request-Method: PUT",
                                      "Access-Control-Request-Headers: content-type"]),
    (10, "PUT", "/cors/pf-good", ["Origin: {o}", "Sec-Fetch-Mode: cors", "Cookie: sid=SOAKSECRET",
                                  "Content-Type: application/json"]),
    (5, "OPTIONS", "/cors/pf-noacac", ["Origin: {o}", "Sec-Fetch-Mode: cors",
                                       "Access-Control-Request-Method: PUT"]),
]


@dataclass
class Stats:
    sent: int = 0
    ok: int = 0
    errors: int = 0
    aborted: int = 0
    seconds: float = 0.0
    statuses: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def _request(port: int, method: str, path: str, headers: list[str], n: int) -> bytes:
    body = b'{"n": 1}' if method in ("PUT", "POST") else b""
    lines = [f"{method} http://127.0.0.1:{port}{path}?n={n} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [h.replace("{o}", PAGE) for h in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader, method: str) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    if length and method != "HEAD":
        await reader.readexactly(length)
    return status


async def run_load(proxy_port: int, origin_port: int, total: int, concurrency: int,
                   time_limit: float, seed: int = 1, extra_mix=(), abort_every: int = 0) -> Stats:
    """Send ``total`` requests through the proxy on ``concurrency`` keep-alive
    connections, stopping early at ``time_limit`` seconds. ``abort_every`` > 0 makes
    every n-th request a half-sent request whose connection is then dropped."""
    rng = random.Random(seed)
    mix = list(MIX) + list(extra_mix)
    weights = [m[0] for m in mix]
    plan = [rng.choices(mix, weights)[0] for _ in range(total)]
    stats = Stats()
    deadline = time.monotonic() + time_limit
    queue = iter(range(total))

    async def worker() -> None:
        reader = writer = None
        for n in queue:
            if time.monotonic() > deadline:
                return
            _, method, path, headers = plan[n]
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", proxy_port), 10)
                raw = _request(origin_port, method, path, headers, n)
                stats.sent += 1
                if abort_every and n % abort_every == abort_every - 1:
                    writer.write(raw[: len(raw) // 2])
                    await writer.drain()
                    writer.close()
                    reader = writer = None
                    stats.aborted += 1
                    continue
                writer.write(raw)
                await writer.drain()
                status = await asyncio.wait_for(_read_response(reader, method), 10)
                stats.statuses[status] = stats.statuses.get(status, 0) + 1
                stats.ok += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                stats.errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    stats.seconds = time.monotonic() - start
    return stats
