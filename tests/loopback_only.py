"""Test-only mitmproxy addon: refuse every destination outside 127.0.0.0/8 before any
connection is made (Chromium reaches for the internet on its own). Run mitmdump with
``--set connection_strategy=lazy`` so nothing connects before these hooks decide.

Host names are mapped to loopback here, never by DNS: with ``--set
loopback_map=http:PORT,https:PORT``, a request to any name under ``.test`` or
``.github.io`` goes to 127.0.0.1 on the port for its scheme (its Host and SNI unchanged,
so the flow keeps its real URL). Whatever the mapping, the address finally connected to
must be a loopback one."""

import ipaddress
import logging

from mitmproxy import ctx, http

logger = logging.getLogger(__name__)
MAPPED_SUFFIXES = (".test", ".github.io")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _refuse(flow: http.HTTPFlow) -> None:
    logger.info(f"[loopback-only] refused {flow.request.host}")
    flow.response = http.Response.make(403, b"loopback only", {"Content-Type": "text/plain"})


class LoopbackOnly:
    def __init__(self) -> None:
        self.ports: dict[int, int] = {}  # the URL's port (80, 443) -> the loopback port

    def load(self, loader) -> None:
        loader.add_option("loopback_map", str, "",
                          "Map *.test and *.github.io to 127.0.0.1: 'http:PORT,https:PORT'.")

    def configure(self, updated) -> None:
        if "loopback_map" in updated:
            self.ports = {}
            for part in filter(None, ctx.options.loopback_map.split(",")):
                scheme, _, port = part.partition(":")
                self.ports[{"http": 80, "https": 443}[scheme]] = int(port)

    def _allowed(self, host: str) -> bool:
        return _loopback(host) or bool(self.ports) and host.lower().endswith(MAPPED_SUFFIXES)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        if not self._allowed(flow.request.host):
            _refuse(flow)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if not self._allowed(flow.request.host):
            _refuse(flow)

    def server_connect(self, data) -> None:
        host, port = data.server.address[:2]
        if host.lower().endswith(MAPPED_SUFFIXES) and port in self.ports:
            data.server.address = ("127.0.0.1", self.ports[port])
        elif not _loopback(host):
            data.server.error = f"loopback only: {host}"


addons = [LoopbackOnly()]
