"""Test-only mitmproxy addon: refuse every destination outside 127.0.0.0/8 before any
connection is made (Chromium reaches for the internet on its own). Run mitmdump with
``--set connection_strategy=lazy`` so nothing connects before these hooks decide."""

import ipaddress
import logging

from mitmproxy import http

logger = logging.getLogger(__name__)


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
    def http_connect(self, flow: http.HTTPFlow) -> None:
        if not _loopback(flow.request.host):
            _refuse(flow)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if not _loopback(flow.request.host):
            _refuse(flow)


addons = [LoopbackOnly()]
