"""Real local servers and a real mitmdump, for the end-to-end and browser suites.

Everything binds to loopback; every wait is bounded; every process is stopped by PID.
"""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from conftest import ADDON, ROOT

MITMDUMP = os.path.join(os.path.dirname(sys.executable), "mitmdump")
LOOPBACK_GUARD = os.path.join(ROOT, "tests", "loopback_only.py")


@dataclass
class Route:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b"payload"
    # headers computed from the request: e.g. reflect its Origin
    reflect_origin: bool = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "Server"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        self.server.received.append(
            (self.command, self.path, [(k, v) for k, v in self.headers.items()], body)
        )
        route = self.server.routes.get((self.command, path)) or self.server.routes.get(path)
        if route is None and callable(self.server.fallback):
            route = self.server.fallback(self)
        if route is None:
            route = Route(404, [], b"no route")
        self.send_response_only(route.status)
        for k, v in route.headers:
            self.send_header(k, v)
        if route.reflect_origin and self.headers.get("Origin"):
            self.send_header("Access-Control-Allow-Origin", self.headers["Origin"])
        out = b"" if self.command == "HEAD" else route.body
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

    def handle_one_request(self) -> None:
        # any method, including lower-case ones such as "patch"
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError):
            self.close_connection = True

    def __getattr__(self, name: str):
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)


def tls_context(directory: str):
    """A server-side TLS context with a fresh self-signed certificate (any name: the
    proxy in front runs with ssl_insecure)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cors-creds test server")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .sign(key, hashes.SHA256()))
    path = os.path.join(directory, "server.pem")
    with open(path, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(path)
    return context


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls=None) -> None:
        super().__init__((host, port), _Handler)
        if tls is not None:  # the handshake happens on the first read, in the handler's thread
            self.socket = tls.wrap_socket(self.socket, server_side=True,
                                          do_handshake_on_connect=False)
        self.routes: dict = {}
        self.fallback = None
        self.received: list = []
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "Server":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


class Mitmdump:
    """A real mitmdump subprocess on an ephemeral loopback port."""

    def __init__(self, *args: str, addon: bool = True, wfile: str | None = None,
                 loopback_only: bool = True, startup_timeout: float = 30.0,
                 cpus: set[int] | None = None, before: tuple[str, ...] = ()) -> None:
        cmd = [MITMDUMP, "--listen-host", "127.0.0.1", "--listen-port", "0",
               "--set", "connection_strategy=lazy"]
        if loopback_only:
            cmd += ["-s", LOOPBACK_GUARD]
        for script in before:  # test addons that must see flows before the addon does
            cmd += ["-s", script]
        if addon:
            cmd += ["-s", ADDON]
        if wfile:
            cmd += ["-w", wfile]
        cmd += list(args)
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
        env["PYTHONUNBUFFERED"] = "1"
        self.cmd = cmd
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None  # every thread
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env, cwd=ROOT, preexec_fn=pin)
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.port: int | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(startup_timeout) or self.port is None:
            self.stop()
            raise RuntimeError("mitmdump did not start:\n" + self.output)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            m = re.search(r"proxy listening at .*?:(\d+)", line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self._ready.set()
        self._ready.set()

    @property
    def proxy_port(self) -> int:
        assert self.port is not None
        return self.port

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            if any(rx.search(line) for line in list(self.lines)):
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(timeout=5)
        return self.proc.returncode

    def __enter__(self) -> "Mitmdump":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def run_offline(infile: str, outfile: str, *args: str, timeout: float = 120.0):
    """mitmdump -nr INFILE -s addon -w OUTFILE; returns (returncode, output)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.run([MITMDUMP, "-nr", infile, "-s", ADDON, "-w", outfile, *args],
                       capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    return p.returncode, p.stdout + p.stderr


def read_flows(path: str) -> list:
    from mitmproxy import io
    with open(path, "rb") as fh:
        return list(io.FlowReader(fh).stream())


def write_har(path: str, entries: list[dict]) -> None:
    """A minimal HAR 1.2 file, as a browser's DevTools exports it."""
    har = {"log": {"version": "1.2", "creator": {"name": "cors-creds tests", "version": "1"},
                   "pages": [], "entries": entries}}
    with open(path, "w") as fh:
        json.dump(har, fh)


def har_entry(method: str, url: str, req_headers: list[tuple[str, str]], status: int,
              resp_headers: list[tuple[str, str]], started: str = "2026-11-24T10:00:00.000Z",
              body: str = "payload") -> dict:
    return {
        "startedDateTime": started,
        "time": 1.0,
        "request": {
            "method": method, "url": url, "httpVersion": "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in req_headers],
            "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0,
        },
        "response": {
            "status": status, "statusText": "", "httpVersion": "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in resp_headers],
            "cookies": [], "content": {"size": len(body), "mimeType": "text/plain", "text": body},
            "redirectURL": "", "headersSize": -1, "bodySize": len(body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0},
    }
